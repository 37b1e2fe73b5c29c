"""Several speakers, one wake word: the one that heard it best answers, the others step back.

Each speaker publishes a claim (its device id and wake-word score) on a topic shared by the home;
a window later, a speaker that finds a better claim than its own yields its turn. Every speaker
computes the same winner (ties go to the alphabetically first device id).
"""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..events import Wake
from ..payload import PayloadError, read_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """One speaker's word that it heard the wake word, and how well (0-1)."""

    device: str
    score: float
    received: float  # time.monotonic() here when it arrived: claims only count while fresh


def read_claim(data: bytes) -> Claim:
    """A claim from the arbitration topic; PayloadError if it is not a valid one."""
    value = read_payload(data)
    if not isinstance(value, dict):
        raise PayloadError("a claim is a JSON object")
    device, score = value.get("device"), value.get("score")
    if not isinstance(device, str) or not 0 < len(device) <= 128:
        raise PayloadError("a claim needs a device (1-128 characters)")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise PayloadError("a claim needs a score between 0 and 1")
    return Claim(device, float(score), time.monotonic())


class Arbitration:
    """Claims this speaker's wake words (`publish` sends a claim's JSON) and yields a turn
    (`yield_turn`) when another speaker heard the same wake word better within `window` seconds.
    `guard` wraps the decision that runs on a timer thread (so that it never raises there)."""

    def __init__(self, *, device: str, window: float, publish: Callable[[str], None],
                 yield_turn: Callable[[str], None], guard: Callable[[Callable], Callable]):
        self.device = device
        self.window = window
        self._publish = publish
        self._yield_turn = yield_turn
        self._guard = guard
        self._lock = threading.Lock()
        self.claims: collections.deque[Claim] = collections.deque(maxlen=64)

    def claim(self, event: Wake) -> None:
        """A wake event of this speaker's: claim it (nothing when arbitration is off)."""
        score = event.score
        if self.window <= 0 or not isinstance(score, (int, float)) or not math.isfinite(score):
            return
        mine = Claim(self.device, float(score), time.monotonic())
        with self._lock:
            self.claims.append(mine)
        self._publish(json.dumps({"device": self.device, "turn": event.turn, "score": mine.score, "ts": time.time()}))
        timer = threading.Timer(self.window, self._guard(self._decide), args=(mine, event.turn))
        timer.daemon = True
        timer.start()

    def remember(self, payload: bytes) -> None:
        """Another speaker's claim, as it arrived; an invalid one is ignored (and logged)."""
        try:
            claim = read_claim(payload)
        except PayloadError as e:
            log.warning("MQTT: ignoring an arbitration claim: %s", e)
            return
        if claim.device != self.device:
            with self._lock:
                self.claims.append(claim)

    def _decide(self, mine: Claim, turn: str) -> None:
        """Only claims that arrived within the window around this one count."""
        with self._lock:
            claims = list(self.claims)
        for rival in claims:
            if rival.device == self.device or abs(rival.received - mine.received) > self.window:
                continue
            if rival.score > mine.score or (rival.score == mine.score and rival.device < self.device):
                log.info("another speaker (%s) heard the wake word better; leaving it the answer", rival.device)
                self._yield_turn(turn)
                return
