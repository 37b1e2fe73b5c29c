"""Reading Wyoming events from the network without trusting them.

An event is a JSON header line, then `data_length` bytes of JSON data and `payload_length` bytes of
payload. The wyoming library's own reader ends the connection on the first bad line and believes any
length; this one answers a bad or oversized event with a `BadEvent` and reads on after it."""

from __future__ import annotations

import asyncio
import json

from wyoming.event import Event

MAX_LINE = 64 * 1024  # a header line (also the StreamReader's limit)
MAX_DATA = 64 * 1024  # the JSON data after it
MAX_PAYLOAD = 1024 * 1024  # one event's payload: an audio chunk is a few kilobytes
DRAIN = 64 * 1024  # what an oversized part is skipped by, a piece at a time


class BadEvent(Exception):
    """An event refused: `code` (bad_event, too_large) and a message for the client."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event; None at the end of the stream. Raises BadEvent for one that is malformed or
    too large, having read past it (a header line that is not JSON: past that line)."""
    line = await _line(reader)
    if line is None:
        return None
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a number of 5000 digits, [[[[...
        raise BadEvent("bad_event", "the header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str) or not header["type"]:
        raise BadEvent("bad_event", "the header must be a JSON object with a type")
    data_length, payload_length = _length(header, "data_length"), _length(header, "payload_length")
    data = header.get("data") if header.get("data") is not None else {}
    extra = await _part(reader, data_length, MAX_DATA, "data")
    payload = await _part(reader, payload_length, MAX_PAYLOAD, "payload")
    if extra:
        try:
            more = json.loads(extra)
        except (ValueError, RecursionError):
            raise BadEvent("bad_event", "the data is not JSON") from None
        if not isinstance(more, dict) or not isinstance(data, dict):
            raise BadEvent("bad_event", "the data must be a JSON object")
        data = {**data, **more}
    if not isinstance(data, dict):
        raise BadEvent("bad_event", "the data must be a JSON object")
    return Event(type=header["type"], data=data, payload=payload or None)


def _length(header: dict, key: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadEvent("bad_event", f"{key} must be a whole number of bytes")
    return value


async def _part(reader: asyncio.StreamReader, length: int, limit: int, what: str) -> bytes:
    """`length` bytes; beyond `limit` they are skipped unread into memory, and the event refused."""
    if length <= limit:
        return await _exactly(reader, length)
    while length > 0:
        piece = await _exactly(reader, min(length, DRAIN))
        length -= len(piece)
    raise BadEvent("too_large", f"the {what} is over {limit} bytes")


async def _exactly(reader: asyncio.StreamReader, length: int) -> bytes:
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as e:
        raise BadEvent("bad_event", "the stream ended inside an event") from e


async def _line(reader: asyncio.StreamReader) -> bytes | None:
    """One header line; a line over MAX_LINE is skipped to its end and refused."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as e:
        return e.partial or None
    except asyncio.LimitOverrunError as e:
        consumed = e.consumed
    while True:
        try:
            await reader.readexactly(consumed)
            await reader.readuntil(b"\n")
            break
        except asyncio.IncompleteReadError:
            break
        except asyncio.LimitOverrunError as e:  # still no end of line in sight
            consumed = e.consumed
    raise BadEvent("too_large", f"a header line is over {MAX_LINE} bytes")
