"""The real face photos (src/smartsite/simulator/data/faces, README.md there): bytes by name."""

from __future__ import annotations

from importlib import resources


def photo(name: str) -> bytes:
    """The bytes of `obama.jpg`, `obama2.jpg`, `obama3.jpg`, `biden.jpg`, `two_faces.jpg` or
    `no_face.jpg`."""
    return resources.files("smartsite.simulator").joinpath("data", "faces", name).read_bytes()


def photo_path(name: str) -> str:
    return str(resources.files("smartsite.simulator").joinpath("data", "faces", name))
