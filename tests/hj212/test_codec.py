"""HJ 212-2017 codec: the standard's example, public vectors, properties of the stream decoder."""

from __future__ import annotations

import datetime
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smartsite.hj212.codec import (
    MAX_DATA_LENGTH,
    Decoder,
    Packet,
    ProtocolError,
    Rejected,
    acknowledgement,
    command,
    crc16,
    data_packet,
    decode,
    encode,
    encode_split,
    execution_result,
    format_segment,
    make_qn,
    notification_response,
    parse_segment,
    request_response,
)

# HJ 212-2017 §6.4 example (its prose misprints the CRC as 1C08).
STANDARD = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
)

# Frames published by others, each with the CRC its source printed (CR LF added where the source
# left it out). They are checked against an independent bit-by-bit CRC below as well.
PUBLIC = [
    # liruoyu2008/HJ212Interpreter README: 2011 upload, 9011 answer, 2081 restart time, 2011 again
    b"##0162QN=20231008123340461;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20231008123340;w01008-SampleTime=20231008123340,w01008-Rtd=123.456&&F441",
    b"##0094QN=20231008125115215;ST=22;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
    b"CP=&&QnRtn=1&&CC01",
    b"##0137QN=20231008130452757;ST=22;CN=2081;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20231008130452;RestartTime=20231007130452&&3AC0",
    b"##0162QN=20231008132300648;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20231008132300;w01008-SampleTime=20231008132300,w01008-Rtd=123.456&&2800",
    # a dust monitor (ST 39) upload in a public PHP gateway
    b"##0239QN=20180821142509000;ST=39;CN=2011;PW=123456;MN=690000D5800028F889221AC0;Flag=4;"
    b"CP=&&DataTime=20180821142509;a34004-Rtd=0.0;a34002-Rtd=0.0;a34001-Rtd=0.0;LA-Rtd=0.0;"
    b"a01001-Rtd=0.0;a01002-Rtd=0.0;a01006-Rtd=0.0;a01007-Rtd=0.0;a01008-Rtd=0&&E541",
    # hj-t212-parser (xiaoyao9184) tests: HJ/T 212-2005 style, no QN and no Flag
    b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;"
    b"B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980",
    # a device with the header fields out of order (ST before QN)
    b"##0265ST=27;CN=2011;QN=20400101191000000;PW=123456;MN=ESBEIJINAQI002;Flag=5;"
    b"CP=&&DataTime=20400101191000;o31104-Rtd=0;a21004-Rtd=0;a21026-Rtd=0;a21005-Rtd=0;"
    b"a34004-Rtd=0;a34002-Rtd=0;a34001-Rtd=0;a01001-Rtd=0;a01002-Rtd=0;LA-Rtd=0;a01006-Rtd=0;"
    b"a01007-Rtd=0;a01008-Rtd=0&&2700",
    # an empty CP and a 9014 answer carrying items, from a public Java client
    b"##0081QN=20181111151745000;ST=21;CN=2011;PW=123456;MN=YSRDWQGQ1000001001;Flag=5;CP=&&&&7580",
    b"##0180QN=20220418123908000;ST=91;CN=9014;PW=123456;MN=YSRDWQGQ1000001001;Flag=4;"
    b"CP=&&QnRtn=1;UTP=MICRO_DEV_DOWNLOAD_DATA_YSRDWQGQ1000001001;"
    b"DTP=MICRO_DEV_UPLOAD_DATA_YSRDWQGQ1000001001&&7200",
    # a C++ header's example, CRC printed in lower case
    b"##0078QN=20201008154743635;ST=91;CN=9014;PW=123456;MN=SD000001;Flag=9;CP=&&QnRtn=1&&71c0",
]
# A noise monitor's log: the CRC is right but MN is empty, which we refuse.
NOISE_LOG = (
    b"##0116QN=20220814021304000;ST=22;CN=2011;PW=123456;MN=;Flag=5;"
    b"CP=&&DataTime=20220814021304;a50001-Rtd=0.00,a50001-Flag=B&&06C0\r\n"
)


def reference_crc(data: bytes) -> int:
    """The standard's algorithm written out bit by bit, to check the fast one against."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


def feed_all(decoder: Decoder, chunks) -> list:
    events = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events


def dust(k: int = 0, **kw) -> Packet:
    values = {
        code: {"Rtd": 40 + k + n / 10, "Flag": "N"}
        for n, code in enumerate(("a34001", "a34002", "a34004", "LA", "a01001", "a01002", "a01007", "a01008"))
    }
    fields = {
        "mn": "010000A8900016F000169DC0",
        "pw": "123456",
        "cn": "2011",
        "data_time": datetime.datetime(2026, 11, 25, 8, 30) + datetime.timedelta(minutes=k),
        "values": values,
    }
    return data_packet(**(fields | kw))


# --- the standard and public vectors -----------------------------------------------------------


def test_standard_example_decodes_and_encodes_back():
    packet = decode(STANDARD)
    assert packet == Packet(
        st="32",
        cn="1062",
        pw="100000",
        mn="010000A8900016F000169DC0",
        qn="20160801085857223",
        flag=5,
        cp=(("RtdInterval", "30"),),
    )
    assert packet.ack_wanted and not packet.is_split and packet.version == 1
    assert crc16(STANDARD[6:-6]) == 0x1C80
    assert encode(packet) == STANDARD


def test_the_prose_crc_1C08_is_refused_with_both_values():
    with pytest.raises(ProtocolError, match="CRC mismatch: frame says 1C08, data gives 1C80") as caught:
        decode(STANDARD.replace(b"1C80", b"1C08"))
    assert caught.value.reason == "crc"


@pytest.mark.parametrize("frame", PUBLIC, ids=lambda f: f[-4:].decode())
def test_public_vectors_verify(frame):
    segment, crc = frame[6:-4], int(frame[-4:], 16)
    assert int(frame[2:6]) == len(segment)
    assert crc16(segment) == reference_crc(segment) == crc
    packet = decode(frame + b"\r\n")
    assert packet.mn and packet.cn
    assert decode(encode(packet)) == packet


def test_public_vector_fields():
    by_crc = {f[-4:]: decode(f + b"\r\n") for f in PUBLIC}
    old = by_crc[b"4980"]
    assert (old.qn, old.flag, old.version, old.ack_wanted) == ("", None, None, False)
    assert old.values()["011"] == {"Rtd": "231.0", "Flag": "N"}
    with pytest.raises(ProtocolError, match="DataTime must be 14 digits"):
        old.data_time()  # 2005 style carries milliseconds
    dust_monitor = by_crc[b"E541"]
    assert dust_monitor.st == "39" and dust_monitor.data_time() == datetime.datetime(2018, 8, 21, 14, 25, 9)
    assert dust_monitor.values()["a34004"] == {"Rtd": "0.0"} and dust_monitor.get("a01008-Rtd") == "0"
    assert by_crc[b"CC01"].get("QnRtn") == "1"
    assert by_crc[b"7580"].cp == ()
    assert by_crc[b"71c0"].version == 2  # Flag=9


def test_crc_right_but_mn_empty_is_refused_naming_mn():
    assert crc16(NOISE_LOG[6:-6]) == 0x06C0
    with pytest.raises(ProtocolError, match="MN must be 1-24"):
        decode(NOISE_LOG)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_crc_matches_the_bitwise_algorithm(data):
    assert crc16(data) == reference_crc(data)


def test_crc_is_not_modbus():
    assert crc16(b"") == 0xFFFF
    assert crc16(b"123456789") == reference_crc(b"123456789") == 0x2F80  # CRC-16/MODBUS gives 0x4B37


# --- builders ----------------------------------------------------------------------------------


def test_acknowledgement_of_the_standard_example():
    ack = acknowledgement(decode(STANDARD))
    assert (ack.st, ack.cn, ack.qn, ack.flag, ack.cp) == ("91", "9014", "20160801085857223", 4, ())
    frame = encode(ack)
    assert b";CN=9014;" in frame and frame.endswith(b";CP=&&&&71C0\r\n")
    assert frame == (
        b"##0087QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;"
        b"Flag=4;CP=&&&&71C0\r\n"
    )


def test_request_response_execution_result_and_notification():
    request = decode(STANDARD)
    assert format_segment(request_response(request)).endswith(
        ";CN=9011;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&"
    )
    assert execution_result(request, exe_rtn=2).get("ExeRtn") == "2"
    assert execution_result(request).qn == request.qn
    assert notification_response(request).cn == "9013"


def test_command_rebuilds_the_standard_example():
    packet = command(
        "1062",
        mn="010000A8900016F000169DC0",
        pw="100000",
        qn="20160801085857223",
        st="32",
        cp={"RtdInterval": 30},
    )
    assert encode(packet) == STANDARD
    set_time = command(
        "1012",
        mn="A1",
        pw="123456",
        qn=make_qn(datetime.datetime(2026, 1, 2, 3, 4, 5, 678900)),
        cp=[("SystemTime", "20260102030405")],
    )
    assert set_time.qn == "20260102030405678" and set_time.get("SystemTime") == "20260102030405"


def test_data_packet_writes_numbers_without_exponent():
    when = datetime.datetime(2026, 11, 25, 8, 30, 0)
    packet = data_packet(
        mn="A1",
        pw="123456",
        cn="2011",
        data_time=when,
        values={"a34002": {"Rtd": 45.2, "Flag": "N"}, "a34004": {"Rtd": 1e-7}, "LA": {"Rtd": 1e16}},
    )
    assert packet.qn == "20261125083000000" and packet.flag == 5 and packet.st == "39"
    assert packet.cp == (
        ("DataTime", "20261125083000"),
        ("a34002-Rtd", "45.2"),
        ("a34002-Flag", "N"),
        ("a34004-Rtd", "0.0000001"),
        ("LA-Rtd", "10000000000000000"),
    )
    assert ";a34002-Rtd=45.2,a34002-Flag=N;a34004-Rtd=0.0000001;" in format_segment(packet)
    assert packet.values() == {
        "a34002": {"Rtd": "45.2", "Flag": "N"},
        "a34004": {"Rtd": "0.0000001"},
        "LA": {"Rtd": "10000000000000000"},
    }
    assert packet.data_time() == when
    with pytest.raises(ProtocolError, match="not finite"):
        data_packet(mn="A1", pw="1", cn="2011", data_time=when, values={"a": {"Rtd": float("nan")}})


def test_an_aware_time_is_written_in_beijing_time():
    utc = datetime.datetime(2026, 11, 25, 0, 30, tzinfo=datetime.UTC)
    packet = data_packet(mn="A1", pw="123456", cn="2011", data_time=utc, values={})
    assert packet.get("DataTime") == "20261125083000"


# --- validation: every message names its field -------------------------------------------------

GOOD = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("ST=32", "ST=3", "ST"),
        ("ST=32", "ST=3x", "ST"),
        ("CN=1062", "CN=106", "CN"),
        ("PW=100000", "PW=1000000", "PW"),
        ("PW=100000", "PW=", "PW"),
        ("MN=010000A8900016F000169DC0", "MN=010000A8900016F000169DC0A", "MN"),
        ("MN=010000A8900016F000169DC0", "MN=0100-00", "MN"),
        ("QN=20160801085857223", "QN=2016080108585722", "QN"),
        ("QN=20160801085857223", "QN=", "QN"),
        ("Flag=5", "Flag=x", "Flag"),
        ("Flag=5", "Flag=256", "Flag"),
        ("Flag=5", "Flag=7", "PNUM"),
        ("Flag=5", "Flag=7;PNUM=2;PNO=3", "PNO"),
        ("Flag=5", "Flag=7;PNUM=0;PNO=0", "PNUM"),
        ("Flag=5", "Flag=5;PNUM=2;PNO=1", "PNUM"),
        ("Flag=5", "Flag=7;PNUM=x;PNO=1", "PNUM"),
        ("ST=32;", "", "ST"),
        ("CN=1062;", "CN=1062;CN=1062;", "CN"),
        ("Flag=5;", "Flag=5;XX=1;", "XX"),
        ("Flag=5;", "Flag5;", "Flag5"),
        ("CP=&&", "CP=&", "CP"),
        ("RtdInterval=30&&", "RtdInterval=30&", "CP"),
        ("RtdInterval=30", "RtdInterval", "CP"),
        ("RtdInterval=30", "RtdInterval=3=0", "CP"),
        ("RtdInterval=30", "=30", "CP"),
        ("RtdInterval=30", "RtdInterval=30&x=1", "CP"),
        ("Flag=5;CP", "Flag=5CP", "CP"),
    ],
)
def test_errors_name_the_field(old, new, field):
    segment = GOOD.replace(old, new, 1)
    assert segment != GOOD
    with pytest.raises(ProtocolError, match=field):
        parse_segment(segment)


def test_non_ascii_and_control_characters_are_refused_with_their_offset():
    with pytest.raises(ProtocolError, match=r"non-ASCII character '中' at offset 97"):
        parse_segment(GOOD.replace("RtdInterval=30", "RtdInterval=中"))
    with pytest.raises(ProtocolError, match=r"control character '\\t' at offset 97"):
        parse_segment(GOOD.replace("RtdInterval=30", "RtdInterval=\t"))


def test_cp_tolerates_empty_items_and_keeps_wire_order():
    packet = parse_segment(GOOD.replace("RtdInterval=30", "b=2;;a=1,a-x=3;"))
    assert packet.cp == (("b", "2"), ("a", "1"), ("a-x", "3"))


def test_format_refuses_what_would_not_parse_back():
    packet = decode(STANDARD)
    for bad in [(("a;b", "1"),), (("a", "1,2"),), (("", "1"),), (("a", "x&"),), (("a", "中"),)]:
        with pytest.raises(ProtocolError, match="CP"):
            format_segment(Packet(packet.st, packet.cn, packet.pw, packet.mn, cp=bad))
    with pytest.raises(ProtocolError, match="PNUM"):
        format_segment(Packet("39", "2011", "1", "A", flag=7))


def test_decode_wants_exactly_one_frame():
    with pytest.raises(ProtocolError, match="length: the frame declares 0101 bytes"):
        decode(STANDARD + b"x")
    with pytest.raises(ProtocolError, match="length: the frame declares 0101 bytes"):
        decode(STANDARD[:-1])
    with pytest.raises(ProtocolError, match="header"):
        decode(b"$" + STANDARD[1:])
    with pytest.raises(ProtocolError, match="over the maximum 1024"):
        decode(b"##1025" + b"x" * 1031)
    with pytest.raises(ProtocolError, match="end: expected CR LF after the CRC"):
        decode(STANDARD[:-2] + b"\r\r")
    with pytest.raises(ProtocolError, match="CRC must be 4 hex digits"):
        decode(STANDARD.replace(b"1C80", b"1C8G"))


def test_encode_refuses_a_segment_over_the_maximum():
    big = Packet("39", "2011", "123456", "A1", flag=5, cp=tuple((f"a{n:05d}-Rtd", "1.0") for n in range(80)))
    with pytest.raises(ProtocolError, match="over the maximum 1024; split it") as caught:
        encode(big)
    assert caught.value.reason == "too_long"


# --- round trip --------------------------------------------------------------------------------

_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=";,=&")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"

cp_items = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(["DataTime", "RtdInterval", "SystemTime", "QnRtn", "ExeRtn"]),
            st.builds(
                lambda code, field: f"{code}-{field}",
                st.sampled_from(["a34001", "a34002", "a34004", "LA", "a01001", "a01008", "w01018"]),
                st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "Flag", "ZsRtd"]),
            ),
            st.text(_TEXT, min_size=1, max_size=12),
        ),
        st.text(_TEXT, max_size=14),
    ),
    max_size=16,
).map(tuple)

packets = st.builds(
    Packet,
    st=st.text(_DIGITS, min_size=2, max_size=2),
    cn=st.text(_DIGITS, min_size=4, max_size=4),
    pw=st.text(_ALNUM, min_size=1, max_size=6),
    mn=st.text(_ALNUM, min_size=1, max_size=24),
    qn=st.one_of(st.just(""), st.text(_DIGITS, min_size=17, max_size=17)),
    flag=st.one_of(st.none(), st.integers(0, 255).map(lambda f: f & ~2)),
    cp=cp_items,
)


@settings(max_examples=150, deadline=None)
@given(packets)
def test_encode_then_decode_gives_the_packet_back(packet):
    assume(len(format_segment(packet)) <= MAX_DATA_LENGTH)
    frame = encode(packet)
    assert decode(frame) == packet
    assert parse_segment(format_segment(packet)) == packet
    assert Decoder().feed(frame) == [packet]


# --- streaming ---------------------------------------------------------------------------------


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


garbage = st.binary(max_size=40).map(lambda b: b.replace(b"#", b""))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(garbage, packets), min_size=1, max_size=5), garbage, st.lists(st.integers(0, 10_000))
)
def test_any_split_with_garbage_between_gives_the_same_packets(pairs, tail, cuts):
    pairs = [(junk, p) for junk, p in pairs if len(format_segment(p)) <= MAX_DATA_LENGTH]
    stream = b"".join(junk + encode(p) for junk, p in pairs) + tail
    decoder = Decoder()
    assert feed_all(decoder, _split(stream, cuts)) == [p for _, p in pairs]
    assert decoder.garbage_bytes == sum(len(junk) for junk, _ in pairs) + len(tail)
    assert decoder.rejected == 0 and decoder.buffered == 0


noise = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([b"#", b"##", b"###", b"##01", b"##9999", b"##0050", b"\r\n", b"##0101QN=2016"]),
    st.builds(lambda p, cut: encode(p)[:cut], packets, st.integers(0, 60)),  # truncated frames
    st.builds(lambda p, at: encode(p)[:at] + b"\x00" + encode(p)[at + 1 :], packets, st.integers(6, 40)),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(noise, packets.map(lambda p: encode(p) if len(format_segment(p)) <= 1024 else b"")),
        max_size=8,
    ),
    st.lists(st.integers(0, 10_000)),
)
def test_any_split_of_any_bytes_gives_the_same_events(parts, cuts):
    stream = b"".join(parts)
    whole = Decoder()
    expected = whole.feed(stream)
    pieces = Decoder()
    assert feed_all(pieces, _split(stream, cuts)) == expected
    assert (pieces.garbage_bytes, pieces.rejected, pieces.buffered) == (
        whole.garbage_bytes,
        whole.rejected,
        whole.buffered,
    )
    assert whole.buffered <= MAX_DATA_LENGTH + 12


def test_one_byte_at_a_time():
    stream = b"junk" + STANDARD + b"\r\n" + encode(dust(1)) + b"#" + encode(dust(2))
    decoder = Decoder()
    events = feed_all(decoder, [stream[k : k + 1] for k in range(len(stream))])
    assert events == [decode(STANDARD), dust(1), dust(2)]
    assert decoder.garbage_bytes == 4 + 2 + 1 and decoder.rejected == 0


def test_a_megabyte_without_double_hash_stays_bounded_and_is_counted():
    rng = random.Random(212)
    decoder = Decoder()
    total = 0
    for _ in range(256):
        chunk = bytes(rng.randrange(256) for _ in range(4095)).replace(b"##", b"#.") + b"."
        total += len(chunk)
        assert decoder.feed(chunk) == []
        assert decoder.buffered == 0
    assert total >= 1_000_000 and decoder.garbage_bytes == total
    assert decoder.feed(STANDARD) == [decode(STANDARD)]


def test_a_declared_length_over_the_maximum_is_refused_at_once():
    decoder = Decoder()
    events = decoder.feed(b"##9999QN=2016")
    assert events == [
        Rejected("too_long", "length: the frame declares 9999 bytes of data segment, over the maximum 1024")
    ]
    assert decoder.buffered < 16
    assert decoder.feed(b"x" * 5000 + STANDARD) == [decode(STANDARD)]
    assert decoder.rejected == 1


def test_a_pending_frame_holds_at_most_one_maximum_frame():
    decoder = Decoder()
    decoder.feed(b"##1024" + b"x" * 1000)
    assert decoder.buffered == 1006
    decoder.feed(b"y" * 5000)
    assert decoder.buffered <= 16  # the frame failed (bad CRC), the rest was searched and skipped
    assert decoder.rejected == 1


@pytest.mark.parametrize("cut", [7, 20, 50, 90, 100, 105, 106])
def test_a_truncated_frame_does_not_swallow_the_good_frame_behind_it(cut):
    """Same declared length: the truncated frame's region runs into the next frame, its CRC
    fails, and the search restarts just after its '##' (not after its declared end)."""
    good = encode(dust(3))
    decoder = Decoder()
    events = decoder.feed(STANDARD[:cut] + good)
    assert events[-1] == dust(3)
    assert all(isinstance(e, Rejected) for e in events[:-1]) and len(events) == 2
    assert decoder.buffered == 0


def test_a_truncated_frame_with_a_long_length_gives_way_at_the_next_line_end():
    """The truncated frame declares more than is left of the stream; its region would reach
    past the good frame, so waiting would hold that frame back. A line feed inside a declared
    segment means the frame ended early."""
    short = STANDARD
    decoder = Decoder()
    events = decoder.feed(b"##0900QN=20160801085857223;ST=32" + short)
    assert events[1:] == [decode(short)]
    assert events[0].reason == "length" and "line feed" in events[0].detail
    assert decoder.buffered == 0


def test_a_bad_crc_is_refused_and_the_next_frame_comes_out():
    bad = STANDARD.replace(b"RtdInterval=30", b"RtdInterval=31")
    decoder = Decoder()
    events = decoder.feed(bad + encode(dust(4)))
    assert events[0].reason == "crc" and events[0].detail.startswith(
        "CRC mismatch: frame says 1C80, data gives "
    )
    assert events[1:] == [dust(4)]


def test_non_ascii_in_a_segment_with_a_good_crc_is_a_segment_rejection():
    segment = STANDARD[6:-6].replace(b"RtdInterval=30", "RtdInterval=中".encode())
    frame = b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))
    decoder = Decoder()
    events = decoder.feed(frame + STANDARD)
    assert events == [Rejected("segment", "data segment: non-ASCII byte 0xE4 at offset 97"), decode(STANDARD)]
    with pytest.raises(ProtocolError, match="non-ASCII byte 0xE4 at offset 97"):
        decode(frame)


def test_missing_line_end_is_refused_and_lowercase_crc_accepted():
    decoder = Decoder()
    events = decoder.feed(STANDARD[:-2] + b"  " + STANDARD.replace(b"1C80", b"1c80"))
    assert events[0] == Rejected("length", "end: expected CR LF after the CRC, got b'  '")
    assert events[1:] == [decode(STANDARD)]


def test_bad_length_digits_are_refused_and_triple_hash_is_garbage():
    decoder = Decoder()
    events = decoder.feed(b"##01x1abc###" + STANDARD)
    assert events == [
        Rejected("length", "length: expected 4 decimal digits after '##', got b'01x1'"),
        decode(STANDARD),
    ]
    assert decoder.garbage_bytes == len(b"01x1abc") + 3  # "#####0101": three extra "#"


# --- split packets -----------------------------------------------------------------------------


def _big(k: int = 0) -> Packet:
    values = {f"a{n:05d}": {"Rtd": n + k, "Flag": "N"} for n in range(40)}
    return dust(k, values=values, qn=f"2026112508300{k:04d}")


def test_encode_split_sets_d_pnum_pno_and_repeats_data_time():
    packet = _big()
    frames = encode_split(packet)
    parts = [decode(f) for f in frames]
    assert len(parts) > 1 and all(len(f) - 12 <= MAX_DATA_LENGTH for f in frames)
    assert [(p.pnum, p.pno, p.flag, p.is_split) for p in parts] == [
        (len(parts), no, 7, True) for no in range(1, len(parts) + 1)
    ]
    assert all(p.get("DataTime") == "20261125083000" for p in parts)
    assert encode_split(dust()) == [encode(dust())]


def _bare(k: int = 0) -> Packet:
    """A big packet without DataTime: its parts cannot be read on their own."""
    return replace(_big(k), cp=tuple(item for item in _big(k).cp if item[0] != "DataTime"))


def _pollutants(packets) -> list:
    return [item for p in packets for item in p.cp if "-" in item[0]]


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(5)), st.integers(180, 300))
def test_self_contained_parts_come_out_one_by_one_in_any_order(order, max_length):
    packet = _big()
    frames = encode_split(packet, max_length=max_length)
    assume(len(frames) >= 5)
    shuffled = [frames[k] for k in order] + [f for k, f in enumerate(frames) if k >= 5]
    decoder = Decoder()
    events = feed_all(decoder, shuffled)
    # each part carries DataTime: it is handed on at once (to be stored and answered), none waits
    assert [e.pno for e in events] == [decode(f).pno for f in shuffled]
    assert all(e.is_split and e.get("DataTime") == "20261125083000" for e in events)
    assert _pollutants(sorted(events, key=lambda e: e.pno)) == _pollutants([packet])
    assert decoder.pending_splits == 0


def test_the_standards_split_upload_gives_each_part_with_its_own_qn():
    # HJ 212-2017 附录 C 表 C.50: two parts, each its own QN and DataTime, both asking for an answer
    parts = [Packet("32", "2061", "123456", "010000A8900016F000169DC0", qn, 7, 2, no,
                    (("DataTime", "20160801080000"), *items))
             for qn, no, items in (("20160801085857534", 1, (("w00000-Avg", "17.5"),)),
                                   ("20160801085857535", 2, (("w01018-Avg", "40.1"),)))]
    decoder = Decoder()
    assert decoder.feed(encode(parts[0])) == [parts[0]]
    assert decoder.feed(encode(parts[1])) == [parts[1]]
    assert decoder.pending_splits == 0


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(4)))
def test_parts_without_data_time_borrow_it_from_their_packets_first_part(order):
    packet = _big()
    frames = encode_split(packet, max_length=260)[:4]
    bare = [frames[0]] + [encode(replace(p, cp=tuple(i for i in p.cp if i[0] != "DataTime")))
                          for p in map(decode, frames[1:])]
    events = feed_all(Decoder(), [bare[k] for k in order])
    assert sorted(e.pno for e in events) == [1, 2, 3, 4]
    assert all(e.get("DataTime") == "20261125083000" for e in events)


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(5)), st.integers(180, 300))
def test_parts_that_need_each_other_in_any_order_give_the_packet(order, max_length):
    packet = _bare()
    frames = encode_split(packet, max_length=max_length)
    assume(len(frames) >= 5)
    shuffled = [frames[k] for k in order] + [f for k, f in enumerate(frames) if k >= 5]
    decoder = Decoder()
    events = feed_all(decoder, shuffled)
    assert events == [packet] and decoder.pending_splits == 0


def test_interleaved_split_groups_and_a_resent_part():
    a, b = encode_split(_bare(1), 300), encode_split(_bare(2), 300)
    stream = [a[0], b[0], a[1], a[1], *b[1:], *a[2:]]
    assert feed_all(Decoder(), stream) == [_bare(2), _bare(1)]


def test_too_many_incomplete_groups_drop_the_oldest():
    decoder = Decoder(max_pending_splits=2)
    firsts = [encode_split(_bare(k), 300)[0] for k in range(3)]
    events = feed_all(decoder, firsts)
    assert len(events) == 1 and events[0].reason == "split"
    assert events[0].detail.startswith(
        "split: dropped incomplete packet MN=010000A8900016F000169DC0 CN=2011 QN="
    )
    assert "had PNO 1 of PNUM" in events[0].detail
    assert events[0].mn == "010000A8900016F000169DC0" and events[0].pw == "123456"
    assert decoder.pending_splits == 2 and decoder.rejected == 1


def test_an_incomplete_group_is_given_up_after_the_wait_it_is_allowed():
    decoder = Decoder()
    frames = encode_split(_bare(), 300)
    assert decoder.feed(frames[0], now=100.0) == [] and decoder.pending_splits == 1
    assert decoder.expire(now=159.0, older_than=60) == []  # still within its minute
    [event] = decoder.expire(now=161.0, older_than=60)
    assert event.reason == "split" and event.mn == "010000A8900016F000169DC0"
    assert f"had PNO 1 of PNUM {len(frames)}, not complete after 60 s" in event.detail
    assert decoder.pending_splits == 0 and decoder.expire(now=1e9, older_than=60) == []


def test_a_changed_pnum_restarts_the_group():
    parts = [decode(f) for f in encode_split(_bare(), 300)]
    changed = Packet(**{**{s: getattr(parts[1], s) for s in Packet.__slots__}, "pnum": parts[1].pnum + 1})
    events = feed_all(Decoder(), [encode(parts[0]), encode(changed)])
    assert [e.reason for e in events] == ["split"] and "PNUM changed" in events[0].detail


def test_a_single_part_split_packet_comes_out_whole():
    packet = dust()
    part = Packet(**{**{s: getattr(packet, s) for s in Packet.__slots__}, "flag": 7, "pnum": 1, "pno": 1})
    assert Decoder().feed(encode(part)) == [packet]
