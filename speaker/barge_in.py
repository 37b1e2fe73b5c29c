"""Barge-in: the wake word or a stop word said over the speaker's answer interrupts it.

The microphone's cleaned frames go to the wake word (as always) and, while the speaker talks, to
the stop-word spotter. What the speaker is playing at the same moment (the echo canceller's
reference) goes to a second wake detector and a second spotter: a word heard in the microphone
within `ECHO_FRAMES` after the speaker itself said it is the speaker's own voice coming back
through the room, never a barge-in, however much of it the canceller left. So an answer that
says "hey jarvis" or "stop" never cuts itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import WakeSettings
from .stop_words import StopWords
from .wake import Detection, WakeDetector

ECHO_FRAMES = 25  # 2 s: the speaker's own word comes back through the room (and its tail) within this
OWN_WAKE_THRESHOLD = 0.2  # the speaker's own voice counts as saying the wake word well below the wake threshold
STOP_HOLD_FRAMES = 3  # a stop word waits 240 ms for the speaker's own spotter to say it said it first


@dataclass(frozen=True)
class Interruption:
    word: str
    wake: Detection | None = None  # the wake word: listen at once; None: a stop word, stop


class BargeIn:
    """Told every cleaned frame (with the reference) while the speaker talks; says when to interrupt."""

    def __init__(self, wake: WakeSettings, stop_words: StopWords | None, own_stop_words: StopWords | None):
        own = dataclasses.replace(wake, threshold=OWN_WAKE_THRESHOLD, trigger_frames=1, refractory_seconds=0.0)
        self._own_wake = WakeDetector(own)
        self._stop_words, self._own_stop_words = stop_words, own_stop_words
        self._frame = 0
        self._own_wake_at = self._own_stop_at = -ECHO_FRAMES - 1
        self._pending: tuple[str, int] | None = None  # a stop word heard, waiting out STOP_HOLD_FRAMES
        self._resting = True

    def rest(self) -> None:
        """The speaker is silent: nothing to do until it talks again (cheap: called on every idle frame)."""
        self._resting = True

    def hear(self, cleaned: np.ndarray, reference: np.ndarray, detection: Detection | None) -> Interruption | None:
        """One frame while the speaker talks: the cleaned microphone, what was played, and what
        the wake detector made of the cleaned frame."""
        if self._resting:
            self._start()
        self._frame += 1
        if self._own_wake.process(reference) is not None:
            self._own_wake_at = self._frame
        if detection is not None and self._frame - self._own_wake_at > ECHO_FRAMES:
            return Interruption(detection.wake_word, detection)
        if self._stop_words is None:
            return None
        own = self._own_stop_words.process(reference)
        if own is not None:
            self._own_stop_at = self._frame
            self._pending = None
        heard = self._stop_words.process(cleaned)
        if heard is not None and self._frame - self._own_stop_at > ECHO_FRAMES:
            self._pending = (heard, self._frame)
        if self._pending is not None and self._frame - self._pending[1] >= STOP_HOLD_FRAMES:
            word, self._pending = self._pending[0], None
            return Interruption(word)
        return None

    def _start(self) -> None:
        self._resting = False
        self._own_wake_at = self._own_stop_at = self._frame - ECHO_FRAMES - 1
        self._pending = None
        if self._stop_words is not None:
            self._stop_words.reset()
            self._own_stop_words.reset()
