"""Events: what the speaker tells the rest of the world, and the in-process bus that carries them.

An event is a plain JSON object with at least `type`, `ts` (unix seconds), `device` and `turn`.
Types and their extra fields:
  state       state (idle, listening, thinking, speaking, muted, error)
  wake        wake_word, score
  transcript  text, final
  intent      name, slots
  response    text
  error       code, message
  volume      level
  reloaded    config
The JSONL writer, the log, MQTT, the status light and systemd's status all subscribe to the bus;
no stage calls them.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from typing import Callable, TextIO

log = logging.getLogger(__name__)

Event = dict
Listener = Callable[[Event], None]


class State(str, enum.Enum):
    """What the speaker is doing."""

    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    MUTED = "muted"
    ERROR = "error"


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
        event = {"type": type, "ts": round(time.time(), 3), "device": self.device, "turn": turn, **fields}
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
        line = json.dumps(event, ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class EventLog:
    """Logs one line per event; what people said only when `transcripts` is allowed."""

    _PRIVATE = {"transcript": "text", "response": "text"}

    def __init__(self, transcripts: bool):
        self._transcripts = transcripts

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        details = {k: v for k, v in event.items() if k not in ("type", "ts", "device", "turn")}
        if kind in self._PRIVATE and not self._transcripts:
            details[self._PRIVATE[kind]] = f"<{len(details.get(self._PRIVATE[kind], ''))} chars>"
        if kind == "transcript" and not details.get("final"):
            return
        level = logging.WARNING if kind == "error" else logging.INFO
        log.log(level, "%s %s", kind, json.dumps(details, ensure_ascii=False))
