"""The one command door: what every command accepts, and the clear refusal of everything else."""

from __future__ import annotations

import json

import pytest

from speaker.commands import Command, CommandError, CommandName, parse


@pytest.mark.parametrize("name, payload, expected", [
    ("say", {"text": "  Dinner is ready. "}, {"text": "Dinner is ready."}),
    ("say", {"text": "Hi.", "language": "ko", "volume": 60}, {"text": "Hi.", "language": "ko", "volume": 60}),
    ("say", {"text": "Hi.", "volume": 60.0}, {"text": "Hi.", "volume": 60}),
    ("listen", None, {}),
    ("stop", {}, {}),
    ("volume", {"level": 0}, {"level": 0}),
    ("volume", {"step": -100}, {"step": -100}),
    ("mute", {}, {"on": True}),
    ("mute", {"mute": False}, {"on": False}),
    ("unmute", {}, {}),
    ("reload", {}, {}),
    ("switch", {"device": "lamp", "on": True}, {"device": "lamp", "on": True}),
])
def test_every_command_is_taken_as_given(name, payload, expected):
    command = parse(name, payload)
    assert command == Command(CommandName(name), expected)
    assert command.name == name and isinstance(command.name, CommandName)


@pytest.mark.parametrize("name, payload, problem", [
    ("dance", {}, "unknown command 'dance'"),
    ("say", [], "say needs a JSON object, got list"),
    ("say", {}, "say needs a non-empty text"),
    ("say", {"text": "   "}, "say needs a non-empty text"),
    ("say", {"text": "hi", "language": "fr"}, "language must be one of en, ko, got 'fr'"),
    ("say", {"text": "hi", "language": ["en"]}, "language must be one of"),
    ("say", {"text": "hi", "volume": 101}, "volume must be between 0 and 100"),
    ("say", {"text": "hi", "loud": True}, "say does not take loud"),
    ("say", {"text": "caf\ufffd"}, "say needs its text in UTF-8"),  # undecodable bytes, as a reader replaced them
    ("say", {"text": "caf\udce9"}, "say needs its text in UTF-8"),  # ... or as the command line kept them
    ("volume", {}, "exactly one of level"),
    ("volume", {"level": 5, "step": 5}, "exactly one of level"),
    ("volume", {"level": True}, "level must be a whole number, got True"),
    ("volume", {"level": 4.5}, "level must be a whole number"),
    ("volume", {"level": float("nan")}, "level must be a whole number, got nan"),
    ("volume", {"level": float("inf")}, "level must be a whole number, got inf"),
    ("volume", {"level": 10 ** 400}, "got a 401-digit number"),
    ("volume", {"step": -(10 ** 400)}, "got a 401-digit number"),
    ("volume", {"level": "x" * 500}, "…"),
    ("mute", {"mute": "yes"}, "mute must be true or false, got 'yes'"),
    ("switch", {"device": "lamp"}, "on must be true or false, got None"),
    ("switch", {"on": True}, "switch needs a non-empty device"),
    ("listen", {"now": 1}, "listen does not take now"),
])
def test_a_bad_command_is_refused_with_a_short_message_that_names_the_problem(name, payload, problem):
    with pytest.raises(CommandError) as refused:
        parse(name, payload)
    assert problem in str(refused.value) and len(str(refused.value)) < 200


def test_the_names_are_plain_strings_everywhere():
    assert CommandName.SAY == "say" and f"{CommandName.SAY}" == "say" and json.dumps(CommandName.SAY) == '"say"'
    assert {CommandName.STOP: 1}["stop"] == 1
