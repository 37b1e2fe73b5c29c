"""Events: what the speaker tells the rest of the world, and the in-process bus that carries them.

An event is one typed object per EventType (`Wake(wake_word=..., score=...)`: a misspelt field is a
TypeError where it is made, not a silent key nobody reads), sent as a JSON object with `type`, `ts`
(unix seconds), `device` and `turn`, and the fields its class declares.
The JSONL writer, the log, MQTT, the status light and systemd's status all subscribe to the bus;
no stage calls them. Every event is made encodable as it is emitted (`clean`), so no listener
can fail on what a stranger sent.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, TextIO

log = logging.getLogger(__name__)

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


ENVELOPE = ("type", "ts", "device", "turn")


@dataclass(frozen=True, kw_only=True, eq=False)
class Event(Mapping):
    """One event: its class is its type, its fields are attributes. It also reads as the JSON object
    it is sent as (a Mapping: `type`, `ts`, `device`, `turn`, then its fields in declaration order;
    a field with a default is left out while it is None). The bus fills `ts`, `device` and `turn`."""

    type: ClassVar[EventType]
    ts: float = 0.0
    device: str = ""
    turn: str | None = None

    def __init_subclass__(cls, *, type: EventType, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.type = type
        EVENTS[type] = cls

    def fields(self) -> dict:
        """The fields of its type (the envelope left out)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ENVELOPE
                and not (getattr(self, f.name) is None and f.default is None)}

    def wire(self) -> dict:
        """The event as JSON carries it."""
        return {"type": str(self.type), "ts": self.ts, "device": self.device, "turn": self.turn, **self.fields()}

    def __getitem__(self, key: str):
        return self.wire()[key]

    def __iter__(self):
        return iter(self.wire())

    def __len__(self) -> int:
        return len(self.wire())


EVENTS: dict[EventType, type[Event]] = {}  # each type's class, filled as they are declared


@dataclass(frozen=True, kw_only=True, eq=False)
class StateChanged(Event, type=EventType.STATE):
    state: str
    muted: bool | None = None
    follow_up: bool | None = None  # listening for the answer to a question, without the wake word
    latency_ms: int | None = None  # the first answer of a turn: how long the user waited since they stopped talking
    reason: str | None = None  # the error state: why the speaker cannot hear


@dataclass(frozen=True, kw_only=True, eq=False)
class Wake(Event, type=EventType.WAKE):
    wake_word: str
    score: float


@dataclass(frozen=True, kw_only=True, eq=False)
class Transcript(Event, type=EventType.TRANSCRIPT):
    text: str
    final: bool
    via: str | None = None  # "wyoming": a request of Assist's; "home_assistant": the satellite's turn


@dataclass(frozen=True, kw_only=True, eq=False)
class Intent(Event, type=EventType.INTENT):
    name: str
    slots: dict
    via: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Response(Event, type=EventType.RESPONSE):
    text: str
    final: bool  # false: one sentence of a streamed reply, as it is said
    via: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Error(Event, type=EventType.ERROR):
    code: str  # an ErrorCode
    message: str
    exit_status: object = None  # `run` ending on an error: the process's exit status


@dataclass(frozen=True, kw_only=True, eq=False)
class Volume(Event, type=EventType.VOLUME):
    level: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Reloaded(Event, type=EventType.RELOADED):
    config: str | None
    applied: list
    restart_needed: list
    refused: list


@dataclass(frozen=True, kw_only=True, eq=False)
class Timer(Event, type=EventType.TIMER):
    kind: str  # "timer" or "alarm"
    name: str | None
    seconds: int | None = None  # a timer's
    at: str | None = None  # an alarm's, ISO 8601 to the minute


@dataclass(frozen=True, kw_only=True, eq=False)
class BargedIn(Event, type=EventType.BARGE_IN):
    word: str  # the wake word or stop word the user said over the answer


@dataclass(frozen=True, kw_only=True, eq=False)
class MicrophoneRestored(Event, type=EventType.MICROPHONE_RESTORED):
    message: str


@dataclass(frozen=True, kw_only=True, eq=False)
class HomeAssistantRestored(Event, type=EventType.HOME_ASSISTANT_RESTORED):
    """The satellite's Home Assistant is back: its pipeline hears the next turn."""
    message: str


@dataclass(frozen=True, kw_only=True, eq=False)
class Device(Event, type=EventType.DEVICE):
    """A home device switched; `device` is the envelope's (this speaker), the home device is `name`."""

    name: str
    on: bool


Listener = Callable[[Event], None]


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


def to_json(value: Event | dict) -> str:
    """An event (or its fields) as compact JSON text (always valid UTF-8 once it went through `clean`)."""
    return json.dumps(value.wire() if isinstance(value, Event) else value, ensure_ascii=False, allow_nan=False)


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

    def emit(self, event: Event, turn: str | None = None) -> Event:
        """Stamp `event` (now, this device, `turn`), make its fields encodable, hand it to every listener."""
        event = dataclasses.replace(event, ts=round(time.time(), 3), device=self.device, turn=clean(turn),
                                    **{name: clean(value) for name, value in event.fields().items()})
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must never stop the pipeline
                log.exception("event listener %r failed on %s", listener, event.type)
        return event

    def emit_all(self, events: Iterable[Event], turn: str | None = None) -> None:
        for event in events:
            self.emit(event, turn)


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
        kind = event.type
        if isinstance(event, Transcript) and not event.final:
            return
        details = event.fields()
        if not self._transcripts:
            for key in self._PRIVATE.get(kind, ()):
                if details.get(key) is not None:
                    details[key] = _masked(details[key])
            if kind == EventType.INTENT and isinstance(details.get("slots"), dict):
                details["slots"] = {name: _masked(value) for name, value in details["slots"].items()}
        level = logging.WARNING if kind == EventType.ERROR else logging.INFO
        log.log(level, "%s %s", kind, to_json(details))
