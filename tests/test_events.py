"""The event bus and its plain listeners: the log keeps what was said private, and every event
can be written whatever a stranger put in it."""

from __future__ import annotations

import json
import logging

import pytest

from speaker.dialogue import Dialogue
from speaker.events import (EVENTS, Device, Error, Event, EventBus, EventLog, EventType, Intent, JsonlWriter, Response,
                            State, StateChanged, Timer, Transcript, Wake, to_json)


def conversation(bus: EventBus) -> None:
    """Three real turns of the dialogue, as the pipeline reports them, and the timer going off."""
    dialogue = Dialogue("en", seed=0)
    for said in ("my name is Alex", "set a pasta timer for 10 minutes", "my sister's birthday is on Friday"):
        reply = dialogue.reply(said)
        bus.emit(Transcript(text=said, final=True), "t")
        bus.emit(Intent(name=reply.intent, slots=reply.slots), "t")
        bus.emit(Response(text=reply.text, final=True), "t")
    bus.emit(Timer(kind="timer", name="pasta", seconds=600), "t")


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
            sent = bus.emit(Error(code="bad_command", message="say: say does not take '\ud800'",
                                  exit_status={"\udfff": [float("nan"), float("inf"), (1, 2)]}))
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == sent and written["message"] == "say: say does not take '\ufffd'"
    assert written["exit_status"] == {"\ufffd": [None, None, [1, 2]]}
    assert not [r for r in caplog.records if r.name == "speaker.events" and r.levelno >= logging.ERROR]


def test_a_broken_listener_does_not_stop_the_others():
    bus = EventBus("test")
    seen = []
    bus.subscribe(lambda event: 1 / 0)
    bus.subscribe(seen.append)
    bus.emit(StateChanged(state=State.IDLE))
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
    codes = set(re.findall(r'code="(\w+)"', source)) | set(re.findall(r'"code": "(\w+)"', source))
    codes |= set(re.findall(r'(?:ChatError|_problem|Problem)\("(\w+)"', source))
    assert codes
    assert codes <= set(ErrorCode), codes - set(ErrorCode)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{code}`" in readme for code in ErrorCode), [c for c in ErrorCode if f"`{c}`" not in readme]


@pytest.mark.parametrize("kind, fields", [
    (StateChanged, {}),  # a state event without its state
    (Wake, {"wake_word": "hey_jarvis", "score": 0.9, "scor": 1}),  # a misspelt field
    (Device, {"device": "lamp", "on": True}),  # `device` is the envelope's: the home device is `name`
])
def test_an_event_is_refused_where_it_is_made_if_it_is_not_what_its_type_declares(kind, fields):
    with pytest.raises(TypeError):
        kind(**fields)


def test_each_event_type_has_one_class_and_is_sent_as_before():
    """The JSON of an event: the envelope, then the fields in the order they were always written; a
    field that is sometimes there is left out when it is not."""
    assert set(EVENTS) == set(EventType) and all(EVENTS[t].type is t for t in EventType)
    bus = EventBus("kitchen")
    heard = []
    bus.subscribe(heard.append)
    sent = bus.emit(StateChanged(state=State.LISTENING, muted=False, follow_up=True), "t1")
    assert heard == [sent] and isinstance(sent, Event) and sent.state == "listening" and sent.turn == "t1"
    assert to_json(sent) == (f'{{"type": "state", "ts": {sent.ts}, "device": "kitchen", "turn": "t1", '
                             '"state": "listening", "muted": false, "follow_up": true}')
    alarm = bus.emit(Timer(kind="alarm", name=None, at="2026-12-06T07:00"))
    assert list(alarm) == ["type", "ts", "device", "turn", "kind", "name", "at"] and alarm["name"] is None
