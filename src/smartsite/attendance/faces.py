"""Face verification with dlib, locally (docs/research/attendance.md §4).

A photo's bytes → a checked RGB image at about 560 px → exactly one face found by dlib's HOG
frontal detector → its 5 landmarks (`shape_predictor_5_face_landmarks.dat`) → a 128-d
encoding from dlib's ResNet (`dlib_face_recognition_resnet_model_v1.dat`). Two encodings of
one person lie within about 0.6 (Euclidean) of each other; the threshold the check-in uses is
the Parameter `face_max_distance`, not a constant here.

The model files come from the `face-recognition-models` package, found by path: its
`__init__` imports `pkg_resources`, which recent setuptools no longer ships, so it is never
imported. The 68-point landmark model in the same package is not used: it was trained on
iBUG 300-W, whose licence excludes commercial use.

The models load once per process, on first use, under a lock; one lock also serialises their
use (dlib's Python calls hold the GIL anyway, so threads gain nothing; processes scale).
Encodings use no jitter (`num_jitters=0`), so the same photo always gives the same numbers.

Every refusal is a `PhotoRejected` with a Chinese message and a stable code, raised before
anything is stored.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import math
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from smartsite.core.errors import SmartsiteError

__all__ = ["Face", "PhotoRejected", "distance", "encode", "load_image", "models_ready",
           "sha256"]

#: Photos are scaled down so that their long side is at most this many pixels before
#: detection: a phone selfie's face stays well above the detector's 80 px window, and a second
#: person beside or behind (two_faces.jpg's faces are ~90 px here) is still found.
WORK_SIDE = 560
#: HOG pyramid upsampling. 1 (face_recognition's default) would find faces down to ~40 px at
#: about 2.6× the detector's cost — 31 ms against 12 ms per photo here, a fifth of a verified
#: check-in (the encoder takes ~63 ms); 560 px without it finds every face the tests' photos
#: hold (benchmarks/attendance_checkin.py).
UPSAMPLE = 0
#: A decoded image larger than this is refused before it is fully decoded (decompression bombs).
MAX_PIXELS = 40_000_000
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class PhotoRejected(SmartsiteError):
    """A photo the face check cannot use; `code` says why ("photo.no_face" …)."""

    code = "photo"

    def __init__(self, message: str, *, code: str, status: int = 400):
        super().__init__(message, field="photo", code=code)
        self.status = status


@dataclass(frozen=True)
class Face:
    """The one face of a photo: its 128-d encoding and where it is (in the working image)."""

    encoding: tuple[float, ...]
    box: tuple[int, int, int, int]  # left, top, right, bottom
    image_size: tuple[int, int]  # width, height of the working image


# ---------------------------------------------------------------- models


class _Models:
    def __init__(self) -> None:
        import dlib  # a 20 MB extension: loaded only where faces are checked

        folder = model_folder()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self.encoder = dlib.face_recognition_model_v1(str(folder / ENCODER_FILE))


_models: _Models | None = None
_load_lock = threading.Lock()
_use_lock = threading.Lock()


def model_folder() -> Path:
    """The folder holding face-recognition-models' model files (without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _get_models() -> _Models:
    global _models
    if _models is None:
        with _load_lock:
            if _models is None:
                _models = _Models()
    return _models


def models_ready() -> bool:
    """Load the models now (a worker can warm up before its first request)."""
    return _get_models() is not None


# ---------------------------------------------------------------- photos


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _truncated(data: bytes, kind: str) -> bool:
    """Whether the file stops before its image ends. Pillow decodes a truncated file without
    a word once any library in the process sets `ImageFile.LOAD_TRUNCATED_IMAGES` (WeasyPrint
    does when imported, for the pits' PDF reports), so this does not rest on Pillow's check.
    JPEG: an end-of-image marker after the main scan (the scan's data never holds one; what
    a phone appends after it, such as a motion photo's video, is fine); PNG: the IEND chunk;
    WebP: the RIFF size."""
    if kind == "JPEG":
        at = 2  # after SOI: walk the segments to the first scan (an EXIF thumbnail is inside APP1)
        while at + 4 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            if marker == 0xDA:
                return data.find(b"\xff\xd9", at) == -1
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
        return True
    if kind == "PNG":
        return data.find(b"IEND") == -1
    if kind == "WEBP":
        return len(data) < 12 or int.from_bytes(data[4:8], "little") + 8 > len(data)
    return False


def load_image(data: bytes, *, max_bytes: int) -> np.ndarray:
    """Decode photo bytes into an RGB array whose long side is at most WORK_SIDE.

    Refuses, with a Chinese message: no bytes, more than `max_bytes` (checked before
    decoding), anything that is not a JPEG, PNG or WebP image, a truncated or corrupt file,
    and absurd pixel counts. The EXIF orientation is applied (phones store portraits turned).
    """
    if not data:
        raise PhotoRejected("未收到照片", code="photo.missing")
    if len(data) > max_bytes:
        raise PhotoRejected(f"照片过大（{_mb(len(data))}），不能超过 {_mb(max_bytes)}",
                            code="photo.too_large", status=413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise PhotoRejected(f"照片格式不支持（{image.format}），请上传 JPEG、PNG 或 WebP 图片",
                                    code="photo.format")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRejected(f"照片像素过多（{image.width}×{image.height}）",
                                    code="photo.too_many_pixels")
            if _truncated(data, image.format):
                raise OSError("truncated")
            image.draft("RGB", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(image).convert("RGB")
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected("上传的文件不是可识别的图片，请上传 JPEG、PNG 或 WebP 照片",
                            code="photo.not_image") from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected("照片文件已损坏或不完整，请重新拍摄", code="photo.corrupt") from None
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.BILINEAR)
    return np.asarray(image)


def encode(data: bytes, *, max_bytes: int) -> Face:
    """The encoding of the one face in the photo; refuses none or several."""
    pixels = load_image(data, max_bytes=max_bytes)
    models = _get_models()
    with _use_lock:
        boxes = models.detector(pixels, UPSAMPLE)
        if len(boxes) == 0:
            raise PhotoRejected("未检测到人脸，请正对镜头、光线充足后重新拍摄", code="photo.no_face")
        if len(boxes) > 1:
            raise PhotoRejected(f"检测到多张人脸（{len(boxes)} 张），请确保画面中只有本人",
                                code="photo.many_faces")
        (box,) = boxes
        shape = models.landmarks(pixels, box)
        vector = models.encoder.compute_face_descriptor(pixels, shape, 0)
    height, width = pixels.shape[:2]
    return Face(encoding=tuple(float(v) for v in vector),
                box=(box.left(), box.top(), box.right(), box.bottom()),
                image_size=(width, height))


def distance(a, b) -> float:
    """Euclidean distance between two encodings (0 = identical; same person ≲ 0.6)."""
    if len(a) != 128 or len(b) != 128:
        raise ValueError("face encodings have 128 numbers")
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True)))
