"""Packets from other HJ 212 implementations (tests/hj212/corpus, see its README) through the
real gateway over TCP: each one asking for an answer is answered once its values are stored,
or refused with a reason on record; a frame whose CRC is wrong is never answered."""

from __future__ import annotations

import datetime
import pathlib
import re
from dataclasses import dataclass

import pytest
from support.gateway import Device, GatewayProcess, wait_for
from support.monitors import add_monitor

from smartsite.dust.models import DeviceRejection, NoiseDay, Reading
from smartsite.hj212 import codec

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CORPUS = pathlib.Path(__file__).parent / "corpus"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@dataclass
class Entry:
    source: str  # file: label
    expect: list[str]
    frame: bytes

    def packet(self) -> codec.Packet | None:
        try:
            return codec.decode(self.frame)
        except codec.ProtocolError:
            return None


def corpus() -> list[Entry]:
    entries = []
    for path in sorted(CORPUS.glob("*.txt")):
        label, expect = "", []
        for line in path.read_text().splitlines():
            if line.startswith("# expect: "):
                expect = [e.strip() for e in line[len("# expect: "):].split(";")]
            elif line.startswith("# "):
                label = line[2:]
            elif line.startswith("##"):
                assert expect, f"{path.name}: a frame without '# expect:' ({line[:60]})"
                entries.append(Entry(f"{path.name}: {label}", expect, line.encode() + b"\r\n"))
                expect = []
    return entries


ENTRIES = corpus()
_PW = re.compile(rb";PW=([0-9A-Za-z]+);MN=([0-9A-Za-z]+);")


def _figures(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split()[1:])


def _data_time(packet: codec.Packet) -> datetime.datetime:
    return packet.data_time().replace(tzinfo=SHANGHAI)


@pytest.fixture
def monitors(cast, reference):
    """Every device of the corpus, registered with the PW its packets carry."""
    devices = {}
    for entry in ENTRIES:
        found = _PW.search(entry.frame)
        if found and entry.expect != ["bad-crc"]:
            pw, mn = (g.decode() for g in found.groups())
            if mn not in devices:
                devices[mn] = add_monitor(cast.project_a, mn=mn, password=pw)
    return devices


def test_the_corpus_covers_noise_fields_and_self_contained_split_parts():
    packets = [e.packet() for e in ENTRIES]
    items = {key for p in packets if p for key, _ in p.cp}
    assert {"Leq-Data", "Leq-DayData", "Leq-NightData", "Ld-DayData", "Ln-NightData"} <= items
    parts = [p for p in packets if p and p.is_split]
    assert len({p.qn for p in parts}) == len(parts) >= 4  # each part its own QN
    assert all(p.get("DataTime") for p in parts)
    assert len(ENTRIES) >= 20


def test_every_corpus_packet_is_answered_after_storage_or_refused_with_a_reason(tmp_path,
                                                                               monitors):
    # the corpus has fixed DataTimes (2016–2026): keep readings however old they are
    gateway = GatewayProcess(tmp_path, reading_retention_days=0).start()
    devices: dict[str, Device] = {}
    try:
        for entry in ENTRIES:
            packet = entry.packet()
            mn = _PW.search(entry.frame).group(2).decode()
            if mn not in devices:
                devices[mn] = Device(gateway.port, mn)
            device = devices[mn]
            answered = len(device.acks)
            device.send_raw(entry.frame)
            why = f"{entry.source}\n{entry.frame!r}\n{gateway.output()[-3000:]}"
            for expect in entry.expect:
                kind = expect.split()[0]
                if kind == "bad-crc":
                    assert packet is None, why
                    assert device.read_acks(answered + 1, timeout=1) == device.acks[:answered]
                    assert wait_for(lambda f=entry.frame: "CRC mismatch" in gateway.output()), why
                elif kind == "refused":
                    assert device.read_acks(answered + 1, timeout=1)[answered:] == [], why
                    text = expect.split(" ", 1)[1]
                    assert wait_for(lambda m=mn, t=text: DeviceRejection.objects.filter(
                        mn=m, detail__contains=t).exists()), why
                else:
                    acks = device.read_acks(answered + 1)
                    assert len(acks) == answered + 1, why
                    assert (acks[-1].cn, acks[-1].qn) == ("9014", packet.qn), why
                    monitor = monitors[mn]
                    if kind == "stored":
                        figures = _figures(expect)
                        reading = Reading.objects.get(monitor=monitor, cn=int(figures.pop("cn")),
                                                      data_time=_data_time(packet))
                        for column, value in figures.items():
                            assert getattr(reading, column) == pytest.approx(float(value)), \
                                (column, why)
                    elif kind == "noise-day":
                        figures = _figures(expect)
                        row = NoiseDay.objects.get(monitor=monitor,
                                                   day=datetime.date.fromisoformat(
                                                       figures.pop("day")))
                        for column, value in figures.items():
                            got = getattr(row, column)
                            assert (got is None if value == "-" else
                                    got == pytest.approx(float(value))), (column, got, why)
                    else:
                        assert kind == "answered", expect
        assert gateway.proc.poll() is None
    finally:
        for device in devices.values():
            device.close()
        gateway.stop()
