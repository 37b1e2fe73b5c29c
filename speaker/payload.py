"""Reading what strangers send, for every door (MQTT, Wyoming): JSON with bounded size, depth and
numbers, and connection trouble told once.

`read_payload` never raises anything but PayloadError, whatever the bytes; `Trouble` keeps a
door from repeating the same connection problem on every retry.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from typing import Callable

from .events import clean

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024  # bytes
MAX_DEPTH = 16  # nested arrays and objects
MAX_DIGITS = 30  # digits of one number

_SIGNIFICANT = re.compile(r'["\\\[\]{}]')  # what `_depth` needs to see of a JSON text


class PayloadError(ValueError):
    """A payload that is not JSON the speaker is willing to read."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise PayloadError(f"a number of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS})")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_DIGITS + 10:
        raise PayloadError(f"a number written with {len(text)} characters (at most {MAX_DIGITS + 10})")
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"{text[:20]} is too large a number")
    return value


def _constant(text: str):
    raise PayloadError(f"{text} is not a number (only finite numbers are accepted)")


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text`, in one pass (it stops past MAX_DEPTH)."""
    depth = deepest = 0
    in_string, escaped_at = False, -1
    for match in _SIGNIFICANT.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        else:
            depth -= 1
    return deepest


def read_payload(data: bytes, limit: int = MAX_PAYLOAD):
    """The JSON value in `data` (empty is {}). Raises PayloadError, with the reason, for data
    larger than `limit` bytes, not UTF-8, not JSON, nested too deep, or with a number that is too
    long or not finite. Lone surrogates in strings become U+FFFD."""
    if len(data) > limit:
        raise PayloadError(f"payload too large ({len(data)} bytes, at most {limit})")
    try:
        text = bytes(data).decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise PayloadError(f"not a JSON object (not UTF-8: {e.reason} at byte {e.start})") from None
    if not text:
        return {}
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise PayloadError(f"nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise PayloadError(f"not a JSON object ({e.msg} at character {e.pos})") from None
    except RecursionError:  # cannot happen within MAX_DEPTH; kept as the last line of defence
        raise PayloadError("nested too deeply") from None
    return clean(value)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Trouble:
    """A door's connection problem: `report` tells it once (logged, and to `tell`), and again only
    when it changes; `clear` once the connection is good again."""

    def __init__(self, door: str, tell: Callable[[str, str], None]):
        self.door = door
        self._tell = tell
        self._lock = threading.Lock()
        self.current: tuple[str, str] | None = None

    def report(self, code: str, message: str) -> bool:
        """Tell the problem unless it is the one already told; True if it was told now."""
        with self._lock:
            if self.current == (code, message):
                return False
            self.current = (code, message)
        log.error("%s: %s", self.door, message)
        self._tell(code, message)
        return True

    def clear(self) -> bool:
        """The connection is good; True if there was a problem to clear."""
        with self._lock:
            was, self.current = self.current, None
        return was is not None
