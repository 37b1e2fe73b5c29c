"""Commands: what the rest of the home (MQTT, the button, the command line) may ask the speaker.

Every door sends the same commands; they are validated here, once. A bad command raises
CommandError with a message that names the problem, and nothing else happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import LANGUAGES


class CommandError(ValueError):
    """A command that cannot be carried out as given."""


@dataclass(frozen=True)
class Command:
    name: str
    args: dict = field(default_factory=dict)


def _number(payload: dict, key: str, low: float, high: float, integer: bool = False):
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise CommandError(f"{key} must be a {'whole ' if integer else ''}number, got {value!r}")
    if not low <= value <= high:
        raise CommandError(f"{key} must be between {low} and {high}, got {value!r}")
    return int(value) if integer else float(value)


def _say(p: dict) -> dict:
    text = p.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CommandError("say needs a non-empty text")
    args = {"text": text.strip()}  # the pipeline cuts a long one at a sentence (announce.max_characters)
    if "language" in p:
        if p["language"] not in LANGUAGES:
            raise CommandError(f"language must be one of {', '.join(LANGUAGES)}, got {p['language']!r}")
        args["language"] = p["language"]
    if "volume" in p:
        args["volume"] = _number(p, "volume", 0, 100, integer=True)
    if "interrupt" in p:
        if not isinstance(p["interrupt"], bool):
            raise CommandError(f"interrupt must be true or false, got {p['interrupt']!r}")
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


def _mute(p: dict) -> dict:
    on = p.get("mute", True)
    if not isinstance(on, bool):
        raise CommandError(f"mute must be true or false, got {on!r}")
    return {"on": on}


VALIDATORS = {
    "say": (_say, {"text", "language", "volume", "interrupt"}),  # interrupt: cut another announcement
    "listen": (_nothing, set()),
    "stop": (_nothing, set()),
    "volume": (_volume, {"level", "step"}),
    "mute": (_mute, {"mute"}),  # {"mute": false} unmutes (one topic for a Home Assistant switch)
    "unmute": (_nothing, set()),
    "reload": (_nothing, set()),
}


def parse(name: str, payload) -> Command:
    """Validate a command given as a name and a JSON object (dict); raise CommandError if bad."""
    if name not in VALIDATORS:
        raise CommandError(f"unknown command {name!r} (known: {', '.join(sorted(VALIDATORS))})")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise CommandError(f"{name} needs a JSON object, got {type(payload).__name__}")
    validate, allowed = VALIDATORS[name]
    unknown = set(payload) - allowed
    if unknown:
        raise CommandError(f"{name} does not take {', '.join(sorted(unknown))}")
    return Command(name, validate(payload))
