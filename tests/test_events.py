"""The event bus and its plain listeners: the log keeps what was said private, and every event
can be written whatever a stranger put in it."""

from __future__ import annotations

import json
import logging

import pytest

from speaker.dialogue import Dialogue
from speaker.events import EventBus, EventLog, EventType, JsonlWriter, State


def conversation(bus: EventBus) -> None:
    """Three real turns of the dialogue, as the pipeline reports them, and the timer going off."""
    dialogue = Dialogue("en", seed=0)
    for said in ("my name is Alex", "set a pasta timer for 10 minutes", "my sister's birthday is on Friday"):
        reply = dialogue.reply(said)
        bus.emit("transcript", "t", text=said, final=True)
        bus.emit("intent", "t", name=reply.intent, slots=reply.slots)
        bus.emit("response", "t", text=reply.text, final=True)
    bus.emit("timer", "t", kind="timer", name="pasta", seconds=600)


PRIVATE = ("Alex", "pasta", "sister", "Friday")


@pytest.mark.parametrize("transcripts", [False, True])
def test_the_log_shows_what_was_said_only_when_allowed(caplog, transcripts):
    bus = EventBus("test")
    bus.subscribe(EventLog(transcripts))
    with caplog.at_level(logging.INFO, logger="speaker.events"):
        conversation(bus)
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert 'intent {"name": "HassStartTimer", "slots": {"name": ' in log  # each intent is logged, by name
    for private in PRIVATE:
        assert (private in log) is transcripts, private
    if not transcripts:
        assert '"slots": {"user_name": "<4 chars>"}' in log and '"name": "<5 chars>"' in log


def test_every_event_is_written_whatever_it_carries(tmp_path, caplog):
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as stream:  # strict UTF-8, as a file on disk is
        bus = EventBus("test")
        bus.subscribe(JsonlWriter(stream))
        bus.subscribe(EventLog(True))
        with caplog.at_level(logging.INFO, logger="speaker.events"):
            sent = bus.emit("error", code="bad_command", message="say: say does not take '\ud800'",
                            exit_status={"\udfff": [float("nan"), float("inf"), (1, 2)]})
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == sent and written["message"] == "say: say does not take '\ufffd'"
    assert written["exit_status"] == {"\ufffd": [None, None, [1, 2]]}
    assert not [r for r in caplog.records if r.name == "speaker.events" and r.levelno >= logging.ERROR]


def test_a_broken_listener_does_not_stop_the_others():
    bus = EventBus("test")
    seen = []
    bus.subscribe(lambda event: 1 / 0)
    bus.subscribe(seen.append)
    bus.emit(EventType.STATE, state=State.IDLE)
    assert seen[0]["type"] == "state" and seen[0]["state"] == "idle"


def test_types_and_states_are_plain_strings_everywhere():
    assert EventType.WAKE == "wake" and f"speaker/test/event/{EventType.WAKE}" == "speaker/test/event/wake"
    assert json.dumps({"state": State.MUTED}) == '{"state": "muted"}'


def test_every_event_type_and_error_code_sent_is_declared_in_one_place():
    """The contract is typed in events.py: an event type or error code written anywhere in the
    speaker is one of EventType / ErrorCode (the README's events table documents those)."""
    import re

    from conftest import ROOT
    from speaker.events import ErrorCode, EventType

    source = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "speaker").rglob("*.py"))
    types = set(re.findall(r'emit\("(\w+)"', source)) | set(re.findall(r'\(\("(\w+)", \{', source))
    codes = set(re.findall(r'code="(\w+)"', source)) | set(re.findall(r'"code": "(\w+)"', source))
    codes |= set(re.findall(r'(?:ChatError|_problem|Problem)\("(\w+)"', source))
    assert types and codes
    assert types <= set(EventType), types - set(EventType)
    assert codes <= set(ErrorCode), codes - set(ErrorCode)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{code}`" in readme for code in ErrorCode), [c for c in ErrorCode if f"`{c}`" not in readme]


@pytest.mark.parametrize("type, fields", [
    ("state", {}),  # a state event without its state
    ("wake", {"wake_word": "hey_jarvis", "score": 0.9, "scor": 1}),  # a misspelt field
    ("device", {"device": "lamp", "on": True}),  # `device` is the envelope's: the home device is `name`
    ("weather", {"sunny": True}),  # no such event
])
def test_the_bus_refuses_an_event_that_is_not_what_its_type_declares(type, fields):
    bus = EventBus("kitchen")
    heard = []
    bus.subscribe(heard.append)
    with pytest.raises(ValueError):
        bus.emit(type, **fields)
    assert heard == []
    assert bus.emit(EventType.DEVICE, name="lamp", on=True)["device"] == "kitchen"
