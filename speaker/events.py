"""Events: what the speaker tells the rest of the world, and the in-process bus that carries them.

An event is a plain JSON object with at least `type`, `ts` (unix seconds), `device` and `turn`, and
the fields its type declares in FIELDS (the bus refuses any other: a typo is a failing test, not a
silent key nobody reads).
The JSONL writer, the log, MQTT, the status light and systemd's status all subscribe to the bus;
no stage calls them. Every event is made encodable as it is emitted (`clean`), so no listener
can fail on what a stranger sent.
"""

from __future__ import annotations

import enum
import json
import logging
import math
import threading
import time
from typing import Callable, TextIO

log = logging.getLogger(__name__)

Event = dict
Listener = Callable[[Event], None]


class EventType(enum.StrEnum):
    """What an event tells."""

    STATE = "state"
    WAKE = "wake"
    TRANSCRIPT = "transcript"
    INTENT = "intent"
    RESPONSE = "response"
    ERROR = "error"
    VOLUME = "volume"
    RELOADED = "reloaded"
    TIMER = "timer"
    BARGE_IN = "barge_in"
    MICROPHONE_RESTORED = "microphone_restored"
    DEVICE = "device"
    HOME_ASSISTANT_RESTORED = "home_assistant_restored"


FIELDS: dict[EventType, tuple[frozenset[str], frozenset[str]]] = {  # type: (always there, sometimes there)
    EventType.STATE: (frozenset({"state"}), frozenset({"muted", "follow_up", "latency_ms", "reason"})),
    EventType.WAKE: (frozenset({"wake_word", "score"}), frozenset()),
    EventType.TRANSCRIPT: (frozenset({"text", "final"}), frozenset({"via"})),  # via: "wyoming" (a request of Assist's), "home_assistant" (the satellite's turn)
    EventType.INTENT: (frozenset({"name", "slots"}), frozenset({"via"})),
    EventType.RESPONSE: (frozenset({"text", "final"}), frozenset({"via"})),
    EventType.ERROR: (frozenset({"code", "message"}), frozenset({"exit_status"})),
    EventType.VOLUME: (frozenset({"level"}), frozenset()),
    EventType.RELOADED: (frozenset({"config", "applied", "restart_needed", "refused"}), frozenset()),
    EventType.TIMER: (frozenset({"kind", "name"}), frozenset({"seconds", "at"})),
    EventType.BARGE_IN: (frozenset({"word"}), frozenset()),
    EventType.MICROPHONE_RESTORED: (frozenset({"message"}), frozenset()),
    EventType.DEVICE: (frozenset({"name", "on"}), frozenset()),  # a home device switched (`name`, `on`)
    EventType.HOME_ASSISTANT_RESTORED: (frozenset({"message"}), frozenset()),  # the satellite's Assist is back
}


def check_fields(type: str, fields: dict) -> EventType:
    """The event type, if `fields` are what it declares; ValueError if not."""
    try:
        kind = EventType(type)
    except ValueError:
        raise ValueError(f"no such event type: {type!r}") from None
    always, sometimes = FIELDS[kind]
    if not always <= fields.keys() <= always | sometimes:
        raise ValueError(f"a {kind} event has {sorted(always)} (and maybe {sorted(sometimes)}), "
                         f"not {sorted(fields)}")
    return kind


class State(enum.StrEnum):
    """What the speaker is doing."""

    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    MUTED = "muted"
    ERROR = "error"


class ErrorCode(enum.StrEnum):
    """The `code` of an error event (the README's events table says when each is sent)."""

    MICROPHONE_UNAVAILABLE = "microphone_unavailable"
    MICROPHONE_CLOSED = "microphone_closed"
    MICROPHONE_SILENT = "microphone_silent"
    SPEAKER_UNAVAILABLE = "speaker_unavailable"
    MODEL_MISSING = "model_missing"
    TURN_FAILED = "turn_failed"
    BAD_COMMAND = "bad_command"
    MUTED = "muted"
    BAD_CONFIG = "bad_config"
    MQTT_REFUSED = "mqtt_refused"
    MQTT_UNREACHABLE = "mqtt_unreachable"
    MQTT_TLS = "mqtt_tls"
    MQTT_LOST = "mqtt_lost"
    MQTT_FAILED = "mqtt_failed"
    EVENTS_DROPPED = "events_dropped"
    LLM_TIMEOUT = "llm_timeout"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_BAD_REPLY = "llm_bad_reply"
    LLM_UNSAFE = "llm_unsafe"
    STATE_DAMAGED = "state_damaged"
    STATE_UNREADABLE = "state_unreadable"
    STATE_UNWRITABLE = "state_unwritable"
    ANNOUNCEMENT_DROPPED = "announcement_dropped"
    WYOMING_UNAVAILABLE = "wyoming_unavailable"
    HOME_ASSISTANT_LOST = "home_assistant_lost"
    HOME_ASSISTANT_FAILED = "home_assistant_failed"


def clean(value):
    """`value` made fit for JSON in UTF-8: lone surrogates become U+FFFD, NaN and infinities
    become null, tuples lists, anything else unknown its text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    try:
        number = float(value)  # numpy scalars
        return clean(number)
    except (TypeError, ValueError):
        return clean(str(value))


def to_json(event: Event) -> str:
    """One event as compact JSON text (always valid UTF-8 once the event went through `clean`)."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False)


class EventBus:
    """Stamps events and hands each one to every listener, in order, on the emitting thread."""

    def __init__(self, device: str):
        self.device = device
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop handing events to `listener` (a part replaced by a reload)."""
        self._listeners = [existing for existing in self._listeners if existing is not listener]

    def emit(self, type: str, turn: str | None = None, **fields) -> Event:
        check_fields(type, fields)
        event = clean({"type": str(type), "ts": round(time.time(), 3), "device": self.device, "turn": turn,
                       **fields})
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must never stop the pipeline
                log.exception("event listener %r failed on %s", listener, type)
        return event


class JsonlWriter:
    """Writes each event as one JSON line to a stream, flushed at once."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = to_json(event)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _masked(value) -> str:
    return f"<{len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False))} chars>"


class EventLog:
    """Logs one line per event; what people said (and the slots taken from it: names, facts,
    timer names) only when `transcripts` is allowed."""

    _PRIVATE = {EventType.TRANSCRIPT: ("text",), EventType.RESPONSE: ("text",), EventType.TIMER: ("name",)}

    def __init__(self, transcripts: bool):
        self._transcripts = transcripts

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        if kind == EventType.TRANSCRIPT and not event.get("final"):
            return
        details = {k: v for k, v in event.items() if k not in ("type", "ts", "device", "turn")}
        if not self._transcripts:
            for key in self._PRIVATE.get(kind, ()):
                if details.get(key) is not None:
                    details[key] = _masked(details[key])
            if kind == EventType.INTENT and isinstance(details.get("slots"), dict):
                details["slots"] = {name: _masked(value) for name, value in details["slots"].items()}
        level = logging.WARNING if kind == EventType.ERROR else logging.INFO
        log.log(level, "%s %s", kind, to_json(details))
