"""systemd integration: the sd_notify protocol, spoken directly over $NOTIFY_SOCKET.

Started by systemd (Type=notify), the daemon tells it:
  READY=1     once the models are loaded and the microphone is open, or known to be missing or
              silent (a speaker without a microphone still runs, says so in STATUS and waits for one);
  STATUS=…    what it is doing, in words (`systemctl status speaker` shows it);
  WATCHDOG=1  from the audio loop, every half of $WATCHDOG_USEC, so a stuck pipeline is restarted;
  STOPPING=1  on the way out.
Outside systemd (no NOTIFY_SOCKET) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Mapping

from .events import Error, Event, EventBus, MicrophoneRestored, StateChanged

log = logging.getLogger(__name__)

MICROPHONE_PROBLEMS = ("microphone_unavailable", "microphone_closed", "microphone_silent")
STATE_STATUS = {
    "idle": "waiting for the wake word",
    "listening": "listening",
    "thinking": "thinking",
    "speaking": "speaking",
    "muted": "muted: not listening",
    "error": "error",
}


def watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """How often to ping the watchdog: half of $WATCHDOG_USEC, when it is meant for this process."""
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None


class Notifier:
    """Sends sd_notify messages, one datagram each; an address starting with '@' is abstract."""

    def __init__(self, address: str | None):
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None
        self._failed = False

    def send(self, *assignments: str) -> None:
        """Send e.g. ("READY=1", "STATUS=waiting for the wake word") as one message."""
        if self._socket is None:
            return
        try:
            # never waits: a listener that stopped reading must not hold the audio loop up
            self._socket.sendto("\n".join(assignments).encode(), socket.MSG_DONTWAIT, self._address)
        except OSError as e:
            if not self._failed:  # systemd went away, or a test's socket closed: say it once
                log.warning("cannot notify systemd at %s: %s", self._address, e)
                self._failed = True


class Service:
    """Keeps systemd told how the daemon is doing: STATUS from the event bus, READY and WATCHDOG
    from `beat`, which the audio loop calls on every turn (at least every 0.1 s)."""

    def __init__(self, bus: EventBus, environ: Mapping[str, str] = os.environ):
        self._notifier = Notifier(environ.get("NOTIFY_SOCKET"))
        self._watchdog = watchdog_seconds(environ)
        self._pinged = 0.0
        self._ready = False
        self._opened: threading.Event | None = None
        self._activity = "starting"
        self._microphone_problem = ""  # what went wrong, while the microphone is missing
        bus.subscribe(self._on_event)

    def status(self, activity: str) -> None:
        self._activity = activity
        self._notifier.send(f"STATUS={self._status()}")

    def watch(self, source) -> None:
        """Audio comes from `source` now: a live microphone has an `opened` event; files and pipes are open already."""
        self._opened = getattr(source, "opened", None)

    def beat(self) -> None:
        """One turn of the audio loop: READY when it can hear (or knows it cannot), WATCHDOG when due."""
        opened = self._opened is None or self._opened.is_set()
        if not self._ready and (opened or self._microphone_problem):
            self._ready = True
            self._notifier.send("READY=1", f"STATUS={self._status()}")
        now = time.monotonic()
        if self._watchdog and now - self._pinged >= self._watchdog:
            self._pinged = now
            self._notifier.send("WATCHDOG=1")

    def stopping(self) -> None:
        self._activity = "stopping"
        self._notifier.send("STOPPING=1", "STATUS=stopping")

    def _status(self) -> str:
        if self._microphone_problem:
            return f"waiting for a microphone: {self._microphone_problem}"
        return self._activity

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.status(STATE_STATUS.get(event.state, event.state))
        elif isinstance(event, Error) and event.code in MICROPHONE_PROBLEMS:
            self._microphone_problem = event.message.replace("\n", " ")
            self._notifier.send(f"STATUS={self._status()}")
        elif isinstance(event, MicrophoneRestored):
            self._microphone_problem = ""
            self._notifier.send(f"STATUS={self._status()}")
