"""Commands: what the rest of the home (MQTT, the button, the command line) may ask the speaker.

Every door sends the same commands; they are validated here, once. A bad command raises
CommandError with a message that names the problem, and nothing else happens.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from .config import LANGUAGES


class CommandError(ValueError):
    """A command that cannot be carried out as given."""


class CommandName(enum.StrEnum):
    """Every command there is. `switch` is for the home, not the pipeline: the MQTT link carries it out."""

    SAY = "say"
    LISTEN = "listen"
    STOP = "stop"
    VOLUME = "volume"
    MUTE = "mute"
    UNMUTE = "unmute"
    RELOAD = "reload"
    SWITCH = "switch"


@dataclass(frozen=True)
class Command:
    name: CommandName
    args: dict = field(default_factory=dict)


def _number(payload: dict, key: str, low: float, high: float, integer: bool = False):
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise CommandError(f"{key} must be a {'whole ' if integer else ''}number, got {_shown(value)}")
    if not low <= value <= high:
        raise CommandError(f"{key} must be between {low} and {high}, got {_shown(value)}")
    if integer and value != int(value):
        raise CommandError(f"{key} must be a whole number, got {_shown(value)}")
    return int(value) if integer else float(value)


def _shown(value, limit: int = 40) -> str:
    """A value as it may appear in a message: short, whatever its size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** limit:
        return f"a {len(str(abs(value)))}-digit number"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _text(p: dict, key: str, what: str) -> str:
    text = p.get(key)
    if not isinstance(text, str) or not text.strip():
        raise CommandError(f"{what} needs a non-empty {key}")
    if any(c == "\ufffd" or "\ud800" <= c <= "\udfff" for c in text):  # what bytes that were not UTF-8 became
        raise CommandError(f"{what} needs its {key} in UTF-8: it holds bytes that are not text")
    return text.strip()


def _say(p: dict) -> dict:
    args = {"text": _text(p, "text", "say")}  # the pipeline cuts a long one at a sentence (announce.max_characters)
    if "language" in p:
        if not isinstance(p["language"], str) or p["language"] not in LANGUAGES:
            raise CommandError(f"language must be one of {', '.join(LANGUAGES)}, got {_shown(p['language'])}")
        args["language"] = p["language"]
    if "volume" in p:
        args["volume"] = _number(p, "volume", 0, 100, integer=True)
    if "interrupt" in p:
        if not isinstance(p["interrupt"], bool):
            raise CommandError(f"interrupt must be true or false, got {_shown(p['interrupt'])}")
        args["interrupt"] = p["interrupt"]
    return args


def _volume(p: dict) -> dict:
    if ("level" in p) == ("step" in p):
        raise CommandError("volume needs exactly one of level (0-100) or step (-100 to 100)")
    if "level" in p:
        return {"level": _number(p, "level", 0, 100, integer=True)}
    return {"step": _number(p, "step", -100, 100, integer=True)}


def _nothing(p: dict) -> dict:
    return {}


def _flag(p: dict, key: str, default: bool | None = None) -> bool:
    on = p.get(key, default)
    if not isinstance(on, bool):
        raise CommandError(f"{key} must be true or false, got {_shown(on)}")
    return on


def _mute(p: dict) -> dict:
    return {"on": _flag(p, "mute", True)}


def _switch(p: dict) -> dict:
    return {"device": _text(p, "device", "switch"), "on": _flag(p, "on")}


VALIDATORS = {
    CommandName.SAY: (_say, {"text", "language", "volume", "interrupt"}),  # interrupt: cut another announcement
    CommandName.LISTEN: (_nothing, set()),
    CommandName.STOP: (_nothing, set()),
    CommandName.VOLUME: (_volume, {"level", "step"}),
    CommandName.MUTE: (_mute, {"mute"}),  # {"mute": false} unmutes (one topic for a Home Assistant switch)
    CommandName.UNMUTE: (_nothing, set()),
    CommandName.RELOAD: (_nothing, set()),
    CommandName.SWITCH: (_switch, {"device", "on"}),  # {"device": "living room light", "on": true}
}


def parse(name: str, payload) -> Command:
    """Validate a command given as a name and a JSON object (dict); raise CommandError if bad."""
    if not isinstance(name, str) or name not in VALIDATORS:
        raise CommandError(f"unknown command {_shown(name)} (known: {', '.join(sorted(VALIDATORS))})")
    name = CommandName(name)
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise CommandError(f"{name} needs a JSON object, got {type(payload).__name__}")
    validate, allowed = VALIDATORS[name]
    unknown = set(payload) - allowed
    if unknown:
        shown = (key if len(key) <= 40 else key[:40] + "…" for key in unknown)
        raise CommandError(f"{name} does not take {', '.join(sorted(shown))}")
    return Command(name, validate(payload))
