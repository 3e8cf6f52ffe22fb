"""HJ 212-2017 frames and packets: a pure, sans-IO codec in the style of h11.

A frame on the wire is ``##`` + 4 decimal digits (the data segment's length in bytes) + the
data segment + 4 hex digits (CRC of the data segment) + CR LF. The data segment reads
``QN=…;ST=..;CN=....;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&``.

* ``decode`` / ``encode`` turn one whole frame into a ``Packet`` and back;
* ``Decoder`` takes the bytes of one connection in any pieces and gives ``Packet`` and
  ``Rejected`` events, skipping garbage; a part of a split packet that reads on its own
  (it carries DataTime) is handed on at once, parts that need each other are reassembled;
* the builders (``acknowledgement``, ``request_response``, ``command``, ``data_packet`` …) make
  the packets a platform or a simulated monitor sends.

Nothing here does I/O, reads the clock or imports Django. ``docs/hj212.md`` is the profile.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

__all__ = [
    "CN_DATA_ACK",
    "CN_EXECUTION_RESULT",
    "CN_GET_RTD_INTERVAL",
    "CN_GET_TIME",
    "CN_NOTIFICATION_RESPONSE",
    "CN_REQUEST_RESPONSE",
    "CN_SET_RTD_INTERVAL",
    "CN_SET_TIME",
    "COMMANDS",
    "DATA_FLAGS",
    "EXE_RTN",
    "FLAG_A",
    "FLAG_D",
    "MAX_DATA_LENGTH",
    "QN_RTN",
    "SYSTEMS",
    "Decoder",
    "Packet",
    "ProtocolError",
    "Rejected",
    "acknowledgement",
    "command",
    "crc16",
    "data_packet",
    "decode",
    "encode",
    "encode_split",
    "execution_result",
    "format_segment",
    "make_qn",
    "notification_response",
    "parse_segment",
    "request_response",
]

MAX_DATA_LENGTH = 1024  # data segment, bytes (the standard's table of the frame: 0–1024)

FLAG_A = 0b01  # acknowledgement wanted
FLAG_D = 0b10  # split packet: PNUM and PNO present
VERSION_2017 = 1  # Flag >> 2: 0 is HJ/T 212-2005, 1 is HJ 212-2017
FLAG_2017 = VERSION_2017 << 2  # 4

ST_AIR, ST_NOISE, ST_DUST, ST_SYSTEM = "22", "23", "39", "91"
SYSTEMS = {
    "22": "空气质量监测",
    "23": "声环境质量监测",
    "39": "工地扬尘污染源",
    "91": "系统交互",
}

CN_GET_TIME, CN_SET_TIME = "1011", "1012"
CN_GET_RTD_INTERVAL, CN_SET_RTD_INTERVAL = "1061", "1062"
CN_REQUEST_RESPONSE, CN_EXECUTION_RESULT = "9011", "9012"
CN_NOTIFICATION_RESPONSE, CN_DATA_ACK = "9013", "9014"
COMMANDS = {
    "1000": "set timeout and retry count",
    "1011": "get / upload the device time",
    "1012": "set the device time (CP SystemTime)",
    "1013": "device asks for time calibration",
    "1061": "get / upload the real-time data interval",
    "1062": "set the real-time data interval (CP RtdInterval)",
    "1063": "get / upload the minute data interval",
    "1064": "set the minute data interval (CP MinInterval)",
    "1072": "set the device password (CP NewPW)",
    "2011": "real-time data",
    "2012": "stop real-time data",
    "2021": "device running state",
    "2022": "stop device running state",
    "2031": "day data",
    "2041": "day running time",
    "2051": "minute data",
    "2061": "hour data",
    "2081": "data logger restart time",
    "9011": "request response (CP QnRtn)",
    "9012": "execution result (CP ExeRtn)",
    "9013": "notification response",
    "9014": "data acknowledgement",
}

DATA_FLAGS = {
    "N": "normal",
    "F": "instrument stopped (停运)",
    "M": "maintenance (维护)",
    "S": "manually entered set value (手工输入的设定值)",
    "D": "instrument fault (故障)",
    "C": "calibration (校准)",
    "T": "above the measuring range (超测量上限)",
    "B": "communication failure between instrument and data logger (通讯异常)",
}
QN_RTN = {
    1: "ready to execute",
    2: "request refused",
    3: "PW wrong",
    4: "MN wrong",
    5: "ST wrong",
    6: "Flag wrong",
    7: "QN wrong",
    8: "CN wrong",
    9: "CRC wrong",
    100: "unknown error",
}
EXE_RTN = {
    1: "success",
    2: "failed, reason unknown",
    3: "request condition wrong",
    4: "communication timeout",
    5: "system busy",
    6: "system fault",
    100: "no data",
}

_HEADER_FIELDS = frozenset({"QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"})
_HEX = b"0123456789ABCDEFabcdef"
_CP_FORBIDDEN = (";", ",", "=", "&")


class ProtocolError(ValueError):
    """The data breaks HJ 212-2017. ``reason`` is the short key a ``Rejected`` event carries."""

    def __init__(self, message: str, reason: str = "segment") -> None:
        super().__init__(message)
        self.reason = reason


# --- CRC ---------------------------------------------------------------------------------------
# Per byte the register becomes T[(reg >> 8) ^ byte], T being the usual 0xA001 table: only the
# high byte h survives a step, and h' = M(h ^ byte) with M = (T >> 8) linear over GF(2) and
# M^8 = identity. So after m bytes h = M^m(0xFF) ^ XOR of M^((m - i) % 8)(byte i): bytes whose
# distance from the end is equal mod 8 can be XORed together first, which Python does on a big
# int eight bytes at a time. The last byte goes through the full 16-bit T.


def _crc_tables() -> tuple[tuple[int, ...], tuple[int, ...], tuple[bytes, ...]]:
    table = []
    for v in range(256):
        r = v
        for _ in range(8):
            r = (r >> 1) ^ 0xA001 if r & 1 else r >> 1
        table.append(r)
    high = [r >> 8 for r in table]

    def power(v: int, times: int) -> int:
        for _ in range(times):
            v = high[v]
        return v

    start = tuple(power(0xFF, r) for r in range(8))  # M^r(0xFF)
    lanes = tuple(bytes(power(v, -k % 8) for v in range(256)) for k in range(8))  # lane k: M^(-k % 8)
    return tuple(table), start, lanes


_TABLE, _START, _LANES = _crc_tables()


def crc16(data: bytes) -> int:
    """The standard's CRC of ``data``: start 0xFFFF; per byte reg = (reg >> 8) ^ byte, then eight
    shifts right with XOR 0xA001 when the low bit was set. Not CRC-16/MODBUS."""
    n = len(data)
    if not n:
        return 0xFFFF
    m = n - 1
    pad = -m & 7  # zero bytes in front make the length a multiple of 8 and change nothing
    v = int.from_bytes(memoryview(data)[:m], "little") << (pad << 3)
    bits = (m + pad) << 3
    while bits > 64:  # fold halves: byte k of the result XORs every byte at index = k (mod 8)
        half = ((bits >> 7) + ((bits >> 6) & 1)) << 6
        v = (v >> half) ^ (v & ((1 << half) - 1))
        bits = half
    w = v.to_bytes(8, "little")
    g = _LANES
    h = (
        _START[m & 7]
        ^ w[0]
        ^ g[1][w[1]]
        ^ g[2][w[2]]
        ^ g[3][w[3]]
        ^ g[4][w[4]]
        ^ g[5][w[5]]
        ^ g[6][w[6]]
        ^ g[7][w[7]]
    )
    return _TABLE[h ^ data[m]]


# --- packets -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Packet:
    """One data segment. ``cp`` holds the CP items in wire order as (key, value) strings."""

    st: str
    cn: str
    pw: str
    mn: str
    qn: str = ""
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    cp: tuple[tuple[str, str], ...] = ()

    @property
    def ack_wanted(self) -> bool:
        """Flag bit A: the sender wants an answer (9014 for data, 9011/9012 for commands)."""
        return self.flag is not None and bool(self.flag & FLAG_A)

    @property
    def is_split(self) -> bool:
        """Flag bit D: one part of a split packet, PNUM and PNO present."""
        return self.flag is not None and bool(self.flag & FLAG_D)

    @property
    def version(self) -> int | None:
        """Flag >> 2: 0 is HJ/T 212-2005, 1 is HJ 212-2017; None without a Flag."""
        return None if self.flag is None else self.flag >> 2

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first CP value for ``key``."""
        for k, v in self.cp:
            if k == key:
                return v
        return default

    def data_time(self) -> datetime.datetime | None:
        """CP DataTime as a naive local (Beijing) time; None when absent."""
        raw = self.get("DataTime")
        return None if raw is None else _parse_time(raw, "DataTime")

    def values(self) -> dict[str, dict[str, str]]:
        """Pollutant items grouped by code: {"a34002": {"Rtd": "45.2", "Flag": "N"}}."""
        out: dict[str, dict[str, str]] = {}
        for key, value in self.cp:
            code, dash, field = key.partition("-")
            if dash:
                fields = out.get(code)
                if fields is None:
                    fields = out[code] = {}
                fields[field] = value
        return out


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame the ``Decoder`` refused: ``reason`` is one of crc, length, segment, too_long,
    split; ``detail`` says what was wrong; ``mn`` (and ``pw``) name the device when the frame
    itself was sound (a split packet given up on)."""

    reason: str
    detail: str
    mn: str = ""
    pw: str = ""


def _parse_time(raw: str, field: str) -> datetime.datetime:
    if len(raw) != 14 or not raw.isascii() or not raw.isdigit():
        raise ProtocolError(f"{field} must be 14 digits (yyyyMMddHHmmss), got {raw!r}")
    try:
        return datetime.datetime(
            int(raw[:4]), int(raw[4:6]), int(raw[6:8]), int(raw[8:10]), int(raw[10:12]), int(raw[12:])
        )
    except ValueError:
        raise ProtocolError(f"{field} is not a valid time: {raw!r}") from None


def _format_time(when: datetime.datetime) -> str:
    when = _local(when)
    return f"{when.year:04d}{when.month:02d}{when.day:02d}{when.hour:02d}{when.minute:02d}{when.second:02d}"


_BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def _local(when: datetime.datetime) -> datetime.datetime:
    """Naive Beijing time; an aware time is converted first (China keeps UTC+8 all year)."""
    if when.tzinfo is not None:
        when = when.astimezone(_BEIJING).replace(tzinfo=None)
    return when


def make_qn(when: datetime.datetime) -> str:
    """QN for ``when``: yyyyMMddHHmmssSSS in Beijing time."""
    return _format_time(when) + f"{_local(when).microsecond // 1000:03d}"


# --- data segment ------------------------------------------------------------------------------


def _alnum(value: str) -> bool:
    return value.isascii() and value.isalnum()


def _check_header(st: str, cn: str, pw: str, mn: str, qn: str) -> None:
    if len(st) != 2 or not (st.isascii() and st.isdigit()):
        raise ProtocolError(f"ST must be 2 digits, got {st!r}")
    if len(cn) != 4 or not (cn.isascii() and cn.isdigit()):
        raise ProtocolError(f"CN must be 4 digits, got {cn!r}")
    if not 1 <= len(pw) <= 6 or not _alnum(pw):
        raise ProtocolError(f"PW must be 1-6 letters or digits, got {pw!r}")
    if not 1 <= len(mn) <= 24 or not _alnum(mn):
        raise ProtocolError(f"MN must be 1-24 letters or digits, got {mn!r}")
    if qn and (len(qn) != 17 or not (qn.isascii() and qn.isdigit())):
        raise ProtocolError(f"QN must be 17 digits (yyyyMMddHHmmssSSS), got {qn!r}")


def _check_split(flag: int | None, pnum: int | None, pno: int | None) -> None:
    if flag is not None and not 0 <= flag <= 255:
        raise ProtocolError(f"Flag must be 0-255, got {flag}")
    split = flag is not None and bool(flag & FLAG_D)
    if split:
        if pnum is None or pno is None:
            raise ProtocolError("PNUM and PNO are required when Flag has the D bit (split packet)")
        if not 1 <= pnum <= 9999:
            raise ProtocolError(f"PNUM must be 1-9999, got {pnum}")
        if not 1 <= pno <= pnum:
            raise ProtocolError(f"PNO must be between 1 and PNUM ({pnum}), got {pno}")
    elif pnum is not None or pno is not None:
        raise ProtocolError("PNUM/PNO are only allowed when Flag has the D bit (split packet)")


def _int_field(name: str, raw: str, digits: int) -> int:
    if not 1 <= len(raw) <= digits or not raw.isdigit():
        raise ProtocolError(f"{name} must be an integer of 1-{digits} digits, got {raw!r}")
    return int(raw)


# The standard's field order, checked by one regex; anything else takes the careful path below.
_CANONICAL = re.compile(
    r"(?:QN=([0-9]{17});)?ST=([0-9]{2});CN=([0-9]{4});PW=([0-9A-Za-z]{1,6});MN=([0-9A-Za-z]{1,24});"
    r"(?:Flag=([0-9]{1,3});)?(?:PNUM=([0-9]{1,4});PNO=([0-9]{1,4});)?CP=&&"
).match


def parse_segment(segment: str) -> Packet:
    """The data segment (between the length and the CRC) as a ``Packet``."""
    m = _CANONICAL(segment)
    if m is None or not (segment.endswith("&&") and segment.isascii() and segment.isprintable()):
        return _parse_segment_any(segment)
    k = m.end()
    if len(segment) < k + 2:
        return _parse_segment_any(segment)
    qn, st, cn, pw, mn, flag, pnum, pno = m.groups()
    if flag is not None:
        flag = int(flag)
    if pnum is not None:
        pnum, pno = int(pnum), int(pno)
    if pnum is not None or (flag is not None and flag & FLAG_D) or (flag is not None and flag > 255):
        _check_split(flag, pnum, pno)
    return Packet(st, cn, pw, mn, qn or "", flag, pnum, pno, _parse_cp(segment[k:-2]))


def _parse_segment_any(segment: str) -> Packet:
    """Fields in any order, each checked with a message naming it."""
    if not segment.isascii():
        at = next(i for i, c in enumerate(segment) if ord(c) > 127)
        raise ProtocolError(f"data segment: non-ASCII character {segment[at]!r} at offset {at}")
    if not segment.isprintable():
        at = next(i for i, c in enumerate(segment) if not c.isprintable())
        raise ProtocolError(f"data segment: control character {segment[at]!r} at offset {at}")
    k = segment.find("CP=&&")
    if k < 0:
        raise ProtocolError("CP: the data segment has no 'CP=&&'")
    if k and segment[k - 1] != ";":
        raise ProtocolError("CP: expected ';' before 'CP=&&'")
    if len(segment) < k + 7 or not segment.endswith("&&"):
        raise ProtocolError("CP: must be wrapped in '&&' (CP=&&…&&) and end the data segment")

    fields: dict[str, str] = {}
    if k:
        for item in segment[: k - 1].split(";"):
            name, eq, value = item.partition("=")
            if not eq:
                raise ProtocolError(f"field {item!r} before CP has no '='")
            if name in fields:
                raise ProtocolError(f"{name} appears twice")
            fields[name] = value
        if not fields.keys() <= _HEADER_FIELDS:
            unknown = sorted(fields.keys() - _HEADER_FIELDS)
            raise ProtocolError(f"unknown field {unknown[0]!r} before CP")
    try:
        st, cn, pw, mn = fields["ST"], fields["CN"], fields["PW"], fields["MN"]
    except KeyError as missing:
        raise ProtocolError(f"{missing.args[0]} is missing") from None
    qn = fields.get("QN")
    if qn == "":
        raise ProtocolError("QN is present but empty")
    _check_header(st, cn, pw, mn, qn or "")
    raw = fields.get("Flag")
    flag = None if raw is None else _int_field("Flag", raw, 3)
    raw = fields.get("PNUM")
    pnum = None if raw is None else _int_field("PNUM", raw, 4)
    raw = fields.get("PNO")
    pno = None if raw is None else _int_field("PNO", raw, 4)
    _check_split(flag, pnum, pno)
    return Packet(st, cn, pw, mn, qn or "", flag, pnum, pno, _parse_cp(segment[k + 5 : -2]))


def _parse_cp(body: str) -> tuple[tuple[str, str], ...]:
    """CP items in wire order; ';' and ',' both separate items, empty items are skipped."""
    if not body:
        return ()
    flat = body.replace(",", ";")
    items = tuple([tuple(item.split("=")) for item in flat.split(";") if item])
    if "&" in flat or ";=" in flat or flat[0] == "=" or (items and set(map(len, items)) != {2}):
        _cp_error(flat)
    return items  # type: ignore[return-value]


def _cp_error(flat: str) -> None:
    if "&" in flat:
        raise ProtocolError("CP: '&' inside the data area (CP=&&…&&)")
    for item in flat.split(";"):
        key, eq, value = item.partition("=")
        if item and (not eq or not key or "=" in value):
            raise ProtocolError(f"CP: item {item!r} is not key=value")
    raise ProtocolError("CP: malformed data area")  # pragma: no cover - one of the above applies


def _check_cp_text(what: str, text: str, *, empty_ok: bool) -> None:
    if (
        not isinstance(text, str)
        or (not text and not empty_ok)
        or not text.isascii()
        or not text.isprintable()
        or any(c in text for c in _CP_FORBIDDEN)
    ):
        raise ProtocolError(f"CP: {what} {text!r} must be printable ASCII without ; , = &")


def _format_cp(cp: Iterable[tuple[str, str]]) -> str:
    """Items of one pollutant joined by ',', different pollutants (and plain keys) by ';'."""
    out: list[str] = []
    prev = None
    for key, value in cp:
        _check_cp_text("key", key, empty_ok=False)
        _check_cp_text(f"value of {key}", value, empty_ok=True)
        code, dash, _ = key.partition("-")
        code = code if dash else None
        if out:
            out.append("," if code is not None and code == prev else ";")
        out.append(f"{key}={value}")
        prev = code
    return "".join(out)


def format_segment(packet: Packet) -> str:
    """The data segment of ``packet``, fields in the standard's order."""
    _check_header(packet.st, packet.cn, packet.pw, packet.mn, packet.qn)
    _check_split(packet.flag, packet.pnum, packet.pno)
    parts = [f"QN={packet.qn}"] if packet.qn else []
    parts += [f"ST={packet.st}", f"CN={packet.cn}", f"PW={packet.pw}", f"MN={packet.mn}"]
    if packet.flag is not None:
        parts.append(f"Flag={packet.flag}")
    if packet.pnum is not None:
        parts += [f"PNUM={packet.pnum}", f"PNO={packet.pno}"]
    parts.append(f"CP=&&{_format_cp(packet.cp)}&&")
    return ";".join(parts)


# --- frames ------------------------------------------------------------------------------------


def encode(packet: Packet, *, max_length: int = MAX_DATA_LENGTH) -> bytes:
    """The whole frame for ``packet``; a data segment over ``max_length`` bytes is refused (a
    device splits it with ``encode_split``)."""
    segment = format_segment(packet).encode("ascii")
    if len(segment) > max_length:
        raise ProtocolError(
            f"length: data segment is {len(segment)} bytes, over the maximum {max_length}; "
            "split it with encode_split()",
            "too_long",
        )
    return b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))


def encode_split(packet: Packet, max_length: int = MAX_DATA_LENGTH) -> list[bytes]:
    """Frames for ``packet``, split (Flag D, PNUM, PNO) when its segment exceeds ``max_length``.

    Each part carries whole CP items; the leading plain items (DataTime …) are repeated in every
    part, and the items of one pollutant stay together when they fit."""
    if len(format_segment(packet)) <= max_length:
        return [encode(packet, max_length=max_length)]
    if packet.is_split:
        raise ProtocolError("Flag: the packet is already one part of a split packet")
    flag = (FLAG_2017 if packet.flag is None else packet.flag) | FLAG_D
    cp = packet.cp
    n_context = 0
    while n_context < len(cp) and "-" not in cp[n_context][0]:
        n_context += 1
    context, rest = cp[:n_context], cp[n_context:]
    groups: list[list[tuple[str, str]]] = []
    for item in rest:
        code = item[0].partition("-")[0]
        if groups and groups[-1][0][0].partition("-")[0] == code:
            groups[-1].append(item)
        else:
            groups.append([item])
    probe = replace(packet, flag=flag, pnum=9999, pno=9999)  # widest PNUM/PNO

    def fits(items: list[tuple[str, str]]) -> bool:
        return len(format_segment(replace(probe, cp=context + tuple(items)))) <= max_length

    chunks: list[list[tuple[str, str]]] = []
    chunk: list[tuple[str, str]] = []
    for group in groups:
        if fits(chunk + group):
            chunk += group
            continue
        if chunk:
            chunks.append(chunk)
            chunk = []
        if fits(group):
            chunk = list(group)
            continue
        for item in group:
            if not fits([*chunk, item]):
                if not chunk:
                    raise ProtocolError(
                        f"length: CP item {item[0]}={item[1]} does not fit in a part of {max_length} bytes",
                        "too_long",
                    )
                chunks.append(chunk)
                chunk = []
            chunk.append(item)
    if chunk:
        chunks.append(chunk)
    if len(chunks) > 9999:
        raise ProtocolError(f"PNUM: the packet needs {len(chunks)} parts, over 9999", "too_long")
    return [
        encode(
            replace(packet, flag=flag, pnum=len(chunks), pno=no, cp=context + tuple(items)),
            max_length=max_length,
        )
        for no, items in enumerate(chunks, 1)
    ]


def _line_feed_error(n: int, at: int) -> ProtocolError:
    return ProtocolError(
        f"length: the frame declares {n:04d} bytes of data segment, but a line feed comes "
        f"{at} bytes into it (truncated frame?)",
        "length",
    )


def _decode_body(buf: bytes | bytearray, i: int, n: int) -> Packet:
    """The frame at ``buf[i:i + n + 12]`` (its ``##`` and length already checked)."""
    end = i + 6 + n
    lf = buf.find(b"\n", i + 6, end + 5)
    if lf >= 0:
        raise _line_feed_error(n, lf - i - 6)
    field = buf[end : end + 4]
    if field.translate(None, _HEX):
        raise ProtocolError(f"CRC must be 4 hex digits, got {bytes(field)!r}", "crc")
    segment = buf[i + 6 : end]
    calc = crc16(segment)
    if int(field, 16) != calc:
        raise ProtocolError(f"CRC mismatch: frame says {field.decode()}, data gives {calc:04X}", "crc")
    tail = buf[end + 4 : end + 6]
    if tail != b"\r\n":
        raise ProtocolError(f"end: expected CR LF after the CRC, got {bytes(tail)!r}", "length")
    if not segment.isascii():
        at = next(k for k, b in enumerate(segment) if b > 127)
        raise ProtocolError(f"data segment: non-ASCII byte 0x{segment[at]:02X} at offset {at}", "segment")
    return parse_segment(segment.decode("ascii"))


def decode(frame: bytes, *, max_length: int = MAX_DATA_LENGTH) -> Packet:
    """Exactly one whole frame (with its CR LF) as a ``Packet``."""
    if frame[:2] != b"##":
        raise ProtocolError(f"header: a frame starts with '##', got {bytes(frame[:2])!r}", "length")
    digits = frame[2:6]
    if len(digits) != 4 or not digits.isdigit():
        raise ProtocolError(f"length: expected 4 decimal digits after '##', got {bytes(digits)!r}", "length")
    n = int(digits)
    if n > max_length:
        raise ProtocolError(
            f"length: the frame declares {n} bytes of data segment, over the maximum {max_length}",
            "too_long",
        )
    if len(frame) != n + 12:
        raise ProtocolError(
            f"length: the frame declares {n:04d} bytes of data segment but is {len(frame)} bytes "
            f"long (expected {n + 12})",
            "length",
        )
    return _decode_body(frame, 0, n)


# --- builders ----------------------------------------------------------------------------------


def _reply(packet: Packet, cn: str, cp: tuple[tuple[str, str], ...] = ()) -> Packet:
    return Packet(st=ST_SYSTEM, cn=cn, pw=packet.pw, mn=packet.mn, qn=packet.qn, flag=FLAG_2017, cp=cp)


def acknowledgement(packet: Packet) -> Packet:
    """9014 data acknowledgement of an upload: same QN, PW, MN; ``CP=&&&&``."""
    return _reply(packet, CN_DATA_ACK)


def request_response(request: Packet, qn_rtn: int = 1) -> Packet:
    """9011 answer to a request: QnRtn 1 = ready to execute (see ``QN_RTN``)."""
    return _reply(request, CN_REQUEST_RESPONSE, (("QnRtn", str(qn_rtn)),))


def execution_result(request: Packet, exe_rtn: int = 1) -> Packet:
    """9012 result of a request: ExeRtn 1 = success (see ``EXE_RTN``)."""
    return _reply(request, CN_EXECUTION_RESULT, (("ExeRtn", str(exe_rtn)),))


def notification_response(packet: Packet) -> Packet:
    """9013 answer to a notification: same QN, empty CP."""
    return _reply(packet, CN_NOTIFICATION_RESPONSE)


def _format_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ProtocolError(f"CP: value {value!r} is not a number or a string")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(f"CP: value {value!r} is not finite")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if not value.is_finite():
        raise ProtocolError(f"CP: value {value!r} is not finite")
    return format(value, "f")


def _cp_items(cp: Mapping[str, object] | Iterable[tuple[str, object]]) -> tuple[tuple[str, str], ...]:
    pairs = cp.items() if isinstance(cp, Mapping) else cp
    return tuple((key, _format_value(value)) for key, value in pairs)


def command(
    cn: str,
    *,
    mn: str,
    pw: str,
    qn: str,
    st: str = ST_DUST,
    cp: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    flag: int = FLAG_2017 | FLAG_A,
) -> Packet:
    """A platform command, e.g. ``command("1062", …, cp={"RtdInterval": 30})``; 1012 takes
    ``SystemTime`` (yyyyMMddHHmmss)."""
    return Packet(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag, cp=_cp_items(cp))


def data_packet(
    *,
    mn: str,
    pw: str,
    cn: str,
    data_time: datetime.datetime,
    values: Mapping[str, Mapping[str, object]],
    st: str = ST_DUST,
    qn: str = "",
    flag: int = FLAG_2017 | FLAG_A,
) -> Packet:
    """A monitor's upload: DataTime, then ``code-Field=value`` per pollutant in ``values`` order.
    Numbers are written without an exponent; ``qn`` defaults to ``make_qn(data_time)``."""
    items = [("DataTime", _format_time(data_time))]
    for code, fields in values.items():
        for field, value in fields.items():
            items.append((f"{code}-{field}", _format_value(value)))
    return Packet(st=st, cn=cn, pw=pw, mn=mn, qn=qn or make_qn(data_time), flag=flag, cp=tuple(items))


# --- streaming ---------------------------------------------------------------------------------


def _join(parts: dict[int, Packet]) -> Packet:
    """One packet from all parts of a split packet: CP in PNO order, plain items (DataTime …)
    that a later part repeats with the same value kept once."""
    first = parts[1]
    items = list(first.cp)
    seen = {item for item in first.cp if "-" not in item[0]}
    for no in range(2, len(parts) + 1):
        for item in parts[no].cp:
            if "-" not in item[0]:
                if item in seen:
                    continue
                seen.add(item)
            items.append(item)
    return replace(first, flag=first.flag & ~FLAG_D, pnum=None, pno=None, cp=tuple(items))


def _self_contained(part: Packet) -> bool:
    """A part of a split packet that reads on its own: it carries its own DataTime, as in the
    standard's example of a split upload (附录 C 表 C.49/C.50: each part has its own QN and
    DataTime and, with the A bit, is answered by its own 9014). The ``Decoder`` hands such a
    part on at once; a part without DataTime needs the others and waits for them."""
    return any(key == "DataTime" for key, _ in part.cp)


class Decoder:
    """Bytes of one connection in, ``Packet`` and ``Rejected`` events out.

    Any split of the stream gives the same events. Bytes before ``##`` are skipped and counted;
    a bad frame is rejected and the search for the next ``##`` restarts just after its ``##``
    (so a truncated frame cannot swallow the good frame behind it); the buffer never holds more
    than one frame of at most ``max_data_length`` bytes of data segment. Split packets: see
    ``_self_contained``; parts that wait are dropped (``Rejected("split")``, naming the device)
    when more than ``max_pending_splits`` groups wait or when ``expire`` says they waited too
    long (the caller's clock, passed to ``feed``)."""

    __slots__ = ("_buf", "_context", "_max_length", "_max_splits", "_pending", "_since",
                 "garbage_bytes", "rejected")

    def __init__(self, max_data_length: int = MAX_DATA_LENGTH, max_pending_splits: int = 8) -> None:
        if not 0 <= max_data_length <= 9999:
            raise ValueError("max_data_length must be 0-9999 (four length digits)")
        if max_pending_splits < 1:
            raise ValueError("max_pending_splits must be at least 1")
        self._buf = bytearray()
        self._max_length = max_data_length
        self._max_splits = max_pending_splits
        self._pending: dict[tuple[str, str, str], dict[int, Packet]] = {}
        self._since: dict[tuple[str, str, str], float] = {}  # group → the caller's clock at its first part
        # (MN, CN, QN) → the plain items (DataTime …) of its last self-contained part, for the
        # parts of the same packet that do not repeat them
        self._context: dict[tuple[str, str, str], tuple[tuple[str, str], ...]] = {}
        self.garbage_bytes = 0
        self.rejected = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    @property
    def pending_splits(self) -> int:
        """Split packets waiting for their other parts."""
        return len(self._pending)

    def feed(self, data: bytes, now: float = 0.0) -> list[Packet | Rejected]:
        """Take the next bytes of the stream; return the events they complete. ``now`` (the
        caller's clock, any unit) stamps a split group's first part for ``expire``."""
        buf = self._buf
        buf += data
        size = len(buf)
        events: list[Packet | Rejected] = []
        i = 0
        while True:
            j = buf.find(b"##", i)
            if j < 0:
                keep = 1 if size > i and buf[size - 1] == 0x23 else 0  # a lone '#' may start '##'
                self.garbage_bytes += size - keep - i
                i = size - keep
                break
            if j > i:
                self.garbage_bytes += j - i
                i = j
            if size - i < 6:
                if size - i >= 3 and buf[i + 2] == 0x23:  # '###': the first '#' is garbage
                    self.garbage_bytes += 1
                    i += 1
                    continue
                break
            digits = buf[i + 2 : i + 6]
            if not digits.isdigit():
                if buf[i + 2] == 0x23:
                    self.garbage_bytes += 1
                    i += 1
                    continue
                self._reject(
                    events, "length", f"length: expected 4 decimal digits after '##', got {bytes(digits)!r}"
                )
                i += 2
                continue
            n = int(digits)
            if n > self._max_length:
                self._reject(
                    events,
                    "too_long",
                    f"length: the frame declares {n} bytes of data segment, over the maximum "
                    f"{self._max_length}",
                )
                i += 2
                continue
            end = i + n + 12
            if size < end:
                lf = buf.find(b"\n", i + 6)
                if lf < 0:
                    break  # wait for the rest
                error = _line_feed_error(n, lf - i - 6)
                self._reject(events, error.reason, str(error))
                i += 2
                continue
            try:
                packet = _decode_body(buf, i, n)
            except ProtocolError as error:
                self._reject(events, error.reason, str(error))
                # a frame with a good CRC is delimited right: skip it; otherwise resync after '##'
                i = end if error.reason == "segment" else i + 2
                continue
            i = end
            if packet.pnum is None:
                events.append(packet)
            else:
                self._part(packet, events, now)
        if i:
            del buf[:i]
        return events

    def expire(self, now: float, older_than: float) -> list[Rejected]:
        """Give up on split groups whose first part came more than ``older_than`` before
        ``now`` (same clock as ``feed``): one ``Rejected("split")`` each, naming the device."""
        events: list[Packet | Rejected] = []
        for key, since in list(self._since.items()):
            if now - since > older_than:
                self._drop(key, events, f"not complete after {older_than:g} s")
        return events  # type: ignore[return-value]

    def _drop(self, key: tuple[str, str, str], events: list[Packet | Rejected], why: str) -> None:
        old = self._pending.pop(key)
        del self._since[key]
        mn, cn, qn = key
        first = next(iter(old.values()))
        have = ",".join(str(no) for no in sorted(old))
        self._reject(
            events,
            "split",
            f"split: dropped incomplete packet MN={mn} CN={cn} QN={qn or '-'}: had PNO {have} "
            f"of PNUM {first.pnum}, {why}",
            first,
        )

    def _reject(self, events: list[Packet | Rejected], reason: str, detail: str,
                packet: Packet | None = None) -> None:
        self.rejected += 1
        events.append(Rejected(reason, detail, packet.mn if packet else "",
                               packet.pw if packet else ""))

    def _part(self, part: Packet, events: list[Packet | Rejected], now: float) -> None:
        """One part of a split packet: a self-contained one goes on at once (and lends its
        DataTime to the parts of its packet that lack one); the others wait for each other."""
        if part.pnum == 1:
            events.append(_join({1: part}))
            return
        key = (part.mn, part.cn, part.qn)
        if _self_contained(part):
            events.append(part)
            context = tuple(item for item in part.cp if "-" not in item[0])
            self._context.pop(key, None)
            self._context[key] = context
            if len(self._context) > self._max_splits:
                del self._context[next(iter(self._context))]
            waiting = self._pending.pop(key, None)
            if waiting is not None:
                del self._since[key]
                events.extend(replace(p, cp=context + p.cp) for _, p in sorted(waiting.items()))
            return
        context = self._context.get(key)
        if context is not None:
            events.append(replace(part, cp=context + part.cp))
            return
        self._reassemble(part, events, now)

    def _reassemble(self, part: Packet, events: list[Packet | Rejected], now: float) -> None:
        pnum, pno = part.pnum, part.pno
        key = (part.mn, part.cn, part.qn)
        pending = self._pending
        group = pending.get(key)
        if group is None:
            if len(pending) >= self._max_splits:
                self._drop(next(iter(pending)), events, f"over {self._max_splits} waiting")
            group = pending[key] = {}
            self._since[key] = now
        elif next(iter(group.values())).pnum != pnum:
            total = next(iter(group.values())).pnum
            self._reject(
                events,
                "split",
                f"split: PNUM changed from {total} to {pnum} for MN={part.mn} CN={part.cn} "
                f"QN={part.qn or '-'}; the earlier parts were dropped",
                part,
            )
            group.clear()
        group[pno] = part  # a re-sent part replaces the earlier copy
        if len(group) == pnum:
            del pending[key]
            del self._since[key]
            events.append(_join(group))
