"""Hearing: one utterance, from the moment the speaker listens to the text of what was said.

The endpointer tells when speech starts and ends (sooner once the recogniser has heard a whole known
sentence); the recogniser hears it from a moment before it starts (leading silence only confuses it)
and gives partial results as it goes. Its free recognition finishes on a worker: `text(timeout)`
never waits longer than it is told.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .endpoint import Endpointer, Heard
from .stt import Transcriber

PREROLL_FRAMES = 4  # ~0.3 s of audio before the speech starts goes to the recogniser too


class Hearing:
    """Listens for one utterance with `endpointer` and `transcriber` (both reset on `start`)."""

    def __init__(self, endpointer: Endpointer, transcriber: Transcriber):
        self.endpointer = endpointer
        self.transcriber = transcriber
        self.recognizing = False  # speech began: the recogniser hears it
        self._before_speech: list[np.ndarray] = []
        self._expecting: list[str] | None = None

    def start(self, no_speech_seconds: float | None = None, expecting: list[str] | None = None) -> None:
        """Listen afresh; `no_speech_seconds`: how long to wait for speech (None: the settings');
        `expecting`: the only sentences the grammar listens for (the answers to a question), if any."""
        self.endpointer.reset(no_speech_seconds)
        self._before_speech = []
        self._expecting = expecting
        self.recognizing = False

    def hear(self, frame: np.ndarray) -> tuple[Heard, str | None]:
        """One frame: what the endpointer makes of it, and the recogniser's new partial text, if any."""
        heard = self.endpointer.process(frame)
        if self.recognizing:
            partial = self.transcriber.accept(frame)
            self.endpointer.complete = self.transcriber.complete  # a known sentence ends sooner
            return heard, partial
        self._before_speech = [*self._before_speech[1 - PREROLL_FRAMES:], frame]
        if heard is not Heard.WAITING:
            self.transcriber.start(self._before_speech, self._expecting)
            self.recognizing = True
        return heard, None

    def end(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """The end of speech was heard, or the input ended; `on_ready` is called (on a worker) when
        there is more to know of the text."""
        self.transcriber.end(on_ready)

    def text(self, timeout: float | None = 0.0) -> str | None:
        """What was said, once known (None: not within `timeout` seconds; None waits for it)."""
        return self.transcriber.result(timeout)
