"""Face photos of the simulated key-post people: only two real identities, many variants.

We have real photos of two people only (`simulator/data/faces/`, README there: Official White
House photos by Pete Souza, public domain in the US with a no-endorsement use policy): one
person in three photos (`obama.jpg`, `obama2.jpg`, `obama3.jpg`) and another in one
(`biden.jpg`). scikit-image's public-domain astronaut photo would add a third, but
scikit-image is not installed here, so it is not used.

So every simulated key-post person is mapped onto one of the two identities (`identity_of`),
and each photo of them — the reference photo at enrolment and every check-in — is a fresh
*augmented variant* of one of that identity's photos: a head-and-shoulders crop with random
margins, a small rotation (±4°), brightness and contrast ±12 %, a width of 200–260 px and a
JPEG quality of 80–92. The face model sees the same person (distance to the originals
≈ 0.05–0.2, well under the 0.6 threshold); the bytes differ every time, so the same-photo
signal fires only where the simulator means it to. Half the demo's people share one face:
the demo shows the checks working, not a population.

Crops are ~200–260 px wide like an ID photo or a phone page's JPEG, which also keeps the
model at ~70 ms a photo (the demo seed enrols dozens of people).
"""

from __future__ import annotations

import functools
import io
import random
from pathlib import Path

from PIL import Image, ImageEnhance

__all__ = ["FACES", "IDENTITIES", "identity_of", "original", "variant"]

FACES = Path(__file__).resolve().parent.parent / "data" / "faces"

#: identity → its photos and the face's box in each (left, top, right, bottom, in the
#: original's pixels; found with the product's detector, `attendance.faces`).
IDENTITIES: dict[str, dict[str, tuple[int, int, int, int]]] = {
    "obama": {"obama.jpg": (201, 75, 345, 217), "obama2.jpg": (89, 155, 233, 297),
              "obama3.jpg": (180, 79, 263, 163)},
    "biden": {"biden.jpg": (117, 63, 216, 161)},
}


def identity_of(resident_id: str) -> str:
    """The identity a simulated person is shown with (a stable function of the id; about
    half each). `seed.py` overrides it for the people whose case needs a given face."""
    return "obama" if int(resident_id[-5:-1]) % 2 == 0 else "biden"


@functools.cache
def _image(name: str) -> Image.Image:
    image = Image.open(FACES / name)
    image.load()
    return image.convert("RGB")


def original(identity: str, k: int = 0) -> Path:
    """The path of one of the identity's photos (a tester can hold it up to the camera)."""
    names = sorted(IDENTITIES[identity])
    return FACES / names[k % len(names)]


def variant(identity: str, rng: random.Random) -> bytes:
    """A fresh JPEG of `identity` (see the module's docstring)."""
    name = rng.choice(sorted(IDENTITIES[identity]))
    left, top, right, bottom = IDENTITIES[identity][name]
    image = _image(name)
    w, h = right - left, bottom - top
    box = (max(0, round(left - w * rng.uniform(0.7, 1.0))),
           max(0, round(top - h * rng.uniform(0.8, 1.1))),
           min(image.width, round(right + w * rng.uniform(0.7, 1.0))),
           min(image.height, round(bottom + h * rng.uniform(1.1, 1.5))))
    crop = image.crop(box).rotate(rng.uniform(-4, 4), resample=Image.BILINEAR,
                                  fillcolor=(236, 236, 236))
    crop = ImageEnhance.Brightness(crop).enhance(rng.uniform(0.88, 1.12))
    crop = ImageEnhance.Contrast(crop).enhance(rng.uniform(0.88, 1.12))
    width = rng.randint(200, 260)
    crop = crop.resize((width, round(crop.height * width / crop.width)), Image.LANCZOS)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=rng.randint(80, 92))
    return out.getvalue()
