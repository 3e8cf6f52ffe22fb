"""Fuzz the HJ 212 codec with atheris (libFuzzer) for a bounded time.

    pip install -e '.[fuzz]'
    .venv/bin/python benchmarks/fuzz_hj212.py                  # 60 s
    .venv/bin/python benchmarks/fuzz_hj212.py --seconds 600    # longer; extra args go to libFuzzer

Each input is read as a small program that builds a byte stream: raw bytes, frames with a
correct length and CRC around fuzzed data segments (so the fuzzer gets past the CRC into the
segment parser), truncated frames, and valid split packets. The stream is decoded whole and in
fuzzed pieces. Checked on every input:

* ``Decoder.feed`` raises nothing and gives only ``Packet`` and ``Rejected`` (with a known reason);
* every split of the stream gives the same events and counters, and the buffer stays within one
  frame of ``MAX_DATA_LENGTH``;
* every packet that comes out encodes and decodes back to itself;
* ``parse_segment`` on the fuzzed text either returns a packet that formats and parses back, or
  raises ``ProtocolError``;
* ``crc16`` agrees with the bit-by-bit algorithm.

A failing input is written to ``var/fuzz/`` (libFuzzer's crash-<sha1> file); rerun it with
``benchmarks/fuzz_hj212.py var/fuzz/crash-…``.
"""

from __future__ import annotations

import argparse
import os
import sys

import atheris

with atheris.instrument_imports():
    from smartsite.hj212 import codec

REASONS = {"crc", "length", "segment", "too_long", "split"}
HEADER = b"QN=20261125083000000;ST=39;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag="


def reference_crc(data: bytes) -> int:
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


def frame(segment: bytes) -> bytes:
    return b"##%04d%s%04X\r\n" % (len(segment) % 10000, segment, codec.crc16(segment))


def build_stream(fdp: atheris.FuzzedDataProvider) -> bytes:
    parts = []
    for _ in range(fdp.ConsumeIntInRange(1, 8)):
        op = fdp.ConsumeIntInRange(0, 5)
        if op == 0:  # raw bytes
            parts.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
        elif op == 1:  # a fuzzed data segment in a correct frame
            parts.append(frame(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 1100))))
        elif op == 2:  # a header we accept, then a fuzzed Flag/PNUM/PNO/CP
            tail = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))
            parts.append(frame(HEADER + tail))
        elif op == 3:  # a fuzzed CP behind a good header
            body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))
            parts.append(frame(HEADER + b"5;CP=&&" + body + b"&&"))
        elif op == 4:  # a truncated or corrupted good frame
            good = codec.encode(codec.acknowledgement(codec.decode(STANDARD)))
            cut = fdp.ConsumeIntInRange(0, len(good))
            parts.append(good[:cut] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4)))
        else:  # split packets, some parts maybe missing or repeated
            count = fdp.ConsumeIntInRange(1, 30)
            cp = tuple((f"a{n:05d}-Rtd", str(n)) for n in range(count))
            qn = "20261125083000000" if fdp.ConsumeBool() else ""
            packet = codec.Packet("39", "2011", "123456", "A1", qn, 5, cp=cp)
            frames = codec.encode_split(packet, max_length=fdp.ConsumeIntInRange(120, 400))
            for _ in range(fdp.ConsumeIntInRange(0, len(frames) + 2)):
                parts.append(frames[fdp.ConsumeIntInRange(0, len(frames) - 1)])
    return b"".join(parts)


STANDARD = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
)


def check_events(events: list, decoder: codec.Decoder) -> None:
    for event in events:
        if isinstance(event, codec.Rejected):
            assert event.reason in REASONS, event
            assert event.detail, event
        else:
            assert isinstance(event, codec.Packet), event
            if len(codec.format_segment(event)) <= codec.MAX_DATA_LENGTH:
                assert codec.decode(codec.encode(event)) == event, event
    assert decoder.buffered <= codec.MAX_DATA_LENGTH + 12, decoder.buffered


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    cuts = sorted(fdp.ConsumeIntListInRange(fdp.ConsumeIntInRange(0, 6), 0, 4096))
    stream = build_stream(fdp)
    stream += fdp.ConsumeBytes(atheris.ALL_REMAINING)

    whole = codec.Decoder()
    expected = whole.feed(stream)
    check_events(expected, whole)

    pieces = codec.Decoder()
    events: list = []
    last = 0
    for cut in [*cuts, len(stream)]:
        cut = min(max(cut, last), len(stream))
        events += pieces.feed(stream[last:cut])
        assert pieces.buffered <= codec.MAX_DATA_LENGTH + 12
        last = cut
    assert events == expected, (events, expected)
    assert (pieces.garbage_bytes, pieces.rejected, pieces.buffered) == (
        whole.garbage_bytes,
        whole.rejected,
        whole.buffered,
    )

    text = stream[:1200].decode("latin-1")
    try:
        packet = codec.parse_segment(text)
    except codec.ProtocolError:
        pass
    else:
        assert codec.parse_segment(codec.format_segment(packet)) == packet

    if len(stream) <= 256:
        assert codec.crc16(stream) == reference_crc(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz the HJ 212 codec for a bounded time.")
    parser.add_argument("--seconds", type=int, default=60, help="run time (libFuzzer -max_total_time)")
    args, rest = parser.parse_known_args()
    os.makedirs("var/fuzz", exist_ok=True)
    argv = [sys.argv[0], f"-max_total_time={args.seconds}", "-artifact_prefix=var/fuzz/", *rest]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
