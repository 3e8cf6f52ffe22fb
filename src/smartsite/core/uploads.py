"""Uploaded files judged by their bytes, not their names: work-order photos and documents,
inspection certificates. One place, so every upload is refused with the same messages."""

from __future__ import annotations

import hashlib

from smartsite.core.errors import DomainError

__all__ = ["CERTIFICATE_TYPES", "IMAGE_TYPES", "MAX_ATTACHMENT_BYTES", "PDF", "check_upload"]

PDF = "application/pdf"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}
#: Certificates are scans or the PDF the inspection body issued (no WebP: archives reject it).
CERTIFICATE_TYPES = {"image/jpeg", "image/png", PDF}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

_LABELS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", PDF: "PDF"}


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _accepted(allowed: set[str]) -> str:
    images = [_LABELS[t] for t in ("image/jpeg", "image/png", "image/webp") if t in allowed]
    text = f"{'/'.join(images)} 图片" if images else ""
    if PDF in allowed:
        text += ("或 " if text else "") + "PDF 文件"
    return text


def check_upload(upload, *, allowed: set[str] | None = None, field: str = "files",
                 what: str = "附件") -> tuple[str, str]:
    """(content type, sha256) of an upload, judged by its bytes, not its name; a file that is
    too large or of a type not in `allowed` (default: images and PDF) is a `DomainError` on
    `field`, worded with `what` (“附件”, “证书文件”)."""
    allowed = IMAGE_TYPES | {PDF} if allowed is None else allowed
    name = getattr(upload, "name", None) or "文件"
    size = getattr(upload, "size", None) or 0
    if size > MAX_ATTACHMENT_BYTES:
        raise DomainError(f"{what}“{name}”超过 {MAX_ATTACHMENT_BYTES // 1024 // 1024} MB",
                          field=field)
    if size == 0:
        raise DomainError(f"{what}“{name}”是空文件", field=field)
    head = upload.read(16)
    upload.seek(0)
    content_type = _sniff(head)
    if content_type is None and head[4:8] == b"ftyp" and \
            head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        raise DomainError(f"{what}“{name}”是 HEIC 格式（苹果手机默认），请在相机设置中选择"
                          "“兼容性最佳”后重拍，或转换为 JPEG 后上传", field=field)
    if content_type not in allowed:
        raise DomainError(f"{what}“{name}”不是 {_accepted(allowed)}", field=field)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return content_type, digest.hexdigest()
