"""Just enough protocol buffers and TFRecord framing to read TensorBoard scalars.

No TensorFlow, no protobuf package: :func:`fields` walks the wire format (varints, 64-bit,
length-delimited and 32-bit fields) and :func:`records` the TFRecord framing of an event file
(``uint64 length, uint32 masked CRC-32C of the length, data, uint32 masked CRC-32C of the
data``, little-endian), checking both checksums.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from distillscale.errors import InputError

__all__ = ["ProtoError", "crc32c", "fields", "records"]


class ProtoError(ValueError):
    """Bytes that are not a well-formed protocol buffer message."""


def _table() -> list[int]:
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        out.append(c)
    return out


_TABLE = _table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (the checksum TFRecord uses)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(data: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    """``(record number from 1, payload)`` of a TFRecord file.

    A record cut short at the very end is the tail a running writer has not finished: reading
    stops there. A checksum that does not match is an error naming the file and the record.
    """
    pos, number = 0, 0
    while pos + 12 <= len(data):
        number += 1
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        if _masked(header) != length_crc:
            raise InputError(
                f"{name}: record {number} (byte {pos}): length checksum mismatch; not a "
                "TensorBoard event file, or a corrupted one"
            )
        end = pos + 12 + length + 4
        if end > len(data):
            return  # a record still being written
        payload = data[pos + 12 : pos + 12 + length]
        (data_crc,) = struct.unpack("<I", data[end - 4 : end])
        if _masked(payload) != data_crc:
            raise InputError(
                f"{name}: record {number} (byte {pos}): data checksum mismatch; the event "
                "file is corrupted"
            )
        yield number, payload
        pos = end


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ProtoError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of a message: ints for varints, bytes otherwise.

    Raises
    ------
    ProtoError
        On a truncated field or an unknown wire type.
    """
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ProtoError(f"wire type {wire}")
        if pos > len(buf):
            raise ProtoError("truncated field")
        yield number, wire, value
