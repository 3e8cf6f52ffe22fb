"""HJ 212 codec alone: packets/s through ``Decoder.feed`` for typical dust packets.

The stream is 100k real-time uploads (CN 2011, ST 39) of one monitor, each with 8 pollutants
carrying Rtd and Flag (~370-byte frames), fed in 64 KiB reads as a socket would give them. The
baseline is the CRC alone over the same data segments, so the ratio shows what parsing costs on
top of checking.

    .venv/bin/python benchmarks/hj212_codec.py [--packets N] [--read BYTES] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import pstats
import time

from smartsite.hj212.codec import Decoder, Packet, crc16, data_packet, encode

CODES = ("a34001", "a34002", "a34004", "LA", "a01001", "a01002", "a01007", "a01008")


def stream(count: int) -> bytes:
    """``count`` frames of one monitor, one per 10 s."""
    start = datetime.datetime(2026, 11, 25, 8, 0, 0)
    frames = []
    for k in range(count):
        values = {
            code: {"Rtd": round(20 + (k * 7 + n * 13) % 400 / 3, 1), "Flag": "N"}
            for n, code in enumerate(CODES)
        }
        frames.append(
            encode(
                data_packet(
                    mn="010000A8900016F000169DC0",
                    pw="123456",
                    cn="2011",
                    data_time=start + datetime.timedelta(seconds=10 * k),
                    values=values,
                )
            )
        )
    return b"".join(frames)


def run(data: bytes, read: int) -> tuple[float, int]:
    decoder = Decoder()
    packets = 0
    t0 = time.perf_counter()
    for at in range(0, len(data), read):
        for event in decoder.feed(data[at : at + read]):
            packets += isinstance(event, Packet)
    return time.perf_counter() - t0, packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--read", type=int, default=65536, help="bytes per feed() call")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    data = stream(args.packets)
    frame_len = len(data) // args.packets
    segments = [data[at + 6 : at + frame_len - 6] for at in range(0, len(data), frame_len)]
    t0 = time.perf_counter()
    for segment in segments:
        crc16(segment)
    crc_s = time.perf_counter() - t0

    if args.profile:
        cProfile.runctx("run(data, args.read)", globals(), locals(), "/tmp/hj212_codec.prof")
        pstats.Stats("/tmp/hj212_codec.prof").sort_stats("tottime").print_stats(12)
    best = min((run(data, args.read) for _ in range(3)), key=lambda r: r[0])
    seconds, packets = best
    assert packets == args.packets, (packets, args.packets)
    rate, crc_rate = packets / seconds, args.packets / crc_s
    print(f"frames: {args.packets} x {frame_len} bytes, {len(data) / 1e6:.1f} MB, reads of {args.read} bytes")
    print(f"crc16 alone:       {crc_rate:>10,.0f} segments/s")
    print(f"Decoder.feed:      {rate:>10,.0f} packets/s ({len(data) / seconds / 1e6:.1f} MB/s)")
    print(f"ratio decode/crc:  {rate / crc_rate:.2f}  (goal: > 50,000 packets/s)")


if __name__ == "__main__":
    main()
