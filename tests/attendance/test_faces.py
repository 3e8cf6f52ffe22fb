"""attendance.faces: the real dlib model on real photos (simulator/data/faces). No database.

The photos are Official White House photos by Pete Souza from the face-recognition 1.3.0
sdist; the package's own tests assert obama vs obama2 ≤ 0.6 and obama vs biden > 0.6.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from support.faces import photo

from smartsite.attendance import faces

LIMIT = 5 * 1024 * 1024
THRESHOLD = 0.6  # the fixture's face_max_distance (dlib's training margin)


def encoding(name: str) -> tuple[float, ...]:
    return faces.encode(photo(name), max_bytes=LIMIT).encoding


def rejection(data: bytes, limit: int = LIMIT) -> faces.PhotoRejected:
    with pytest.raises(faces.PhotoRejected) as info:
        faces.encode(data, max_bytes=limit)
    return info.value


def test_two_photos_of_one_person_match():
    assert faces.distance(encoding("obama.jpg"), encoding("obama2.jpg")) <= THRESHOLD
    assert faces.distance(encoding("obama.jpg"), encoding("obama3.jpg")) <= THRESHOLD


def test_photos_of_two_people_do_not_match():
    assert faces.distance(encoding("obama.jpg"), encoding("biden.jpg")) > THRESHOLD


def test_the_same_photo_gives_the_same_encoding_every_time():
    assert encoding("obama.jpg") == encoding("obama.jpg")
    assert faces.distance(encoding("obama.jpg"), encoding("obama.jpg")) == 0


def test_a_photo_without_a_face_is_refused():
    error = rejection(photo("no_face.jpg"))
    assert error.code == "photo.no_face"
    assert "未检测到人脸" in error.message


def test_a_photo_with_two_faces_is_refused():
    error = rejection(photo("two_faces.jpg"))
    assert error.code == "photo.many_faces"
    assert "检测到多张人脸" in error.message


def test_a_20_mb_photo_is_refused_before_decoding():
    big = photo("obama.jpg") + b"\0" * (20 * 1000 * 1000)
    error = rejection(big)
    assert error.code == "photo.too_large" and error.status == 413
    assert "照片过大" in error.message and "5.0 MB" in error.message


@pytest.mark.parametrize("data", [b"%PDF-1.4 not a photo", b"GIF89a" + b"\0" * 64,
                                  "打卡".encode() * 100, bytes(range(256)) * 10])
def test_bytes_that_are_not_an_image_are_refused(data):
    error = rejection(data)
    assert error.code in {"photo.not_image", "photo.format"}
    assert "图片" in error.message


def test_a_truncated_jpeg_is_refused():
    data = photo("obama.jpg")
    error = rejection(data[: len(data) // 3])
    assert error.code == "photo.corrupt"


def test_a_gif_is_refused_by_format():
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, format="GIF")
    assert rejection(out.getvalue()).code == "photo.format"


def test_empty_bytes_are_refused():
    assert rejection(b"").code == "photo.missing"


def test_a_png_of_the_same_photo_matches_the_jpeg():
    out = io.BytesIO()
    Image.open(io.BytesIO(photo("obama2.jpg"))).save(out, format="PNG")
    png = faces.encode(out.getvalue(), max_bytes=LIMIT).encoding
    assert faces.distance(png, encoding("obama.jpg")) <= THRESHOLD


def test_a_portrait_stored_turned_with_an_exif_orientation_still_finds_the_face():
    image = Image.open(io.BytesIO(photo("obama.jpg"))).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": undoes the turn above
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    assert faces.distance(faces.encode(out.getvalue(), max_bytes=LIMIT).encoding,
                          encoding("obama.jpg")) <= THRESHOLD


def test_the_model_files_are_the_5_point_and_resnet_models():
    folder = faces.model_folder()
    assert (folder / faces.LANDMARKS_FILE).is_file()
    assert (folder / faces.ENCODER_FILE).is_file()
    assert "68" not in faces.LANDMARKS_FILE


def test_a_small_file_of_huge_dimensions_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG")  # 50 Mpx in a few kB
    error = rejection(out.getvalue())
    assert error.code == "photo.too_many_pixels" and "10000×5000" in error.message
