"""Barge-in: the wake word or a stop word said over the speaker's answer interrupts it.

The microphone's cleaned frames go to the wake word (as always) and, while the speaker talks, to
the stop-word spotter. What the sound device starts playing at the same moment goes to a second
wake detector: a wake word heard in the microphone within `ECHO_FRAMES` after the speaker itself
said it is its own voice coming back through the sound server and the room, never a barge-in,
however much of it the canceller left. (Not what the canceller believes is heard now: at the start
of an answer through a sound server the echo can come earlier than the delay it measured in the
last answer, and the microphone then heard "hey jarvis" before that reference said it.) Stop
words are short, and what the canceller leaves of "setup" can sound like "stop", so for them the
text tells: a stop word heard while the speaker says a sentence that could sound like one is its
own. So an answer that says "hey jarvis" or "stop" never cuts itself. While the speaker talks the
wake word must score higher than from idle, and nothing counts before the canceller has learnt the
room. Nor does a word heard while what the microphone holds is all echo (the residual echo
suppressor tells): what a distorting loudspeaker leaves of the answer can score as the wake word,
the user's voice over the answer stands above that echo.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass

import numpy as np

from .audio import FRAME_SECONDS
from .config import WakeSettings
from .stop_words import StopWords
from .wake import Detection, WakeDetector

ECHO_FRAMES = 38  # 3 s: the speaker's own wake word comes back through the sound device (up to 1 s late) and the
                  # room (and its tail) within this
OWN_STOP_SECONDS = 1.0  # a sentence that sounds like a stop word rings on in the room (and in the spotter) this long
OWN_WAKE_THRESHOLD = 0.2  # the speaker's own voice counts as saying the wake word well below the wake threshold
SPEAKING_THRESHOLD = 0.9  # the wake word over an answer must be clear: what the canceller leaves of the answer
                          # scored up to 0.76 in the simulated room; the user's wake word over it scores 0.99
ADAPTED_DB = 12.0  # nothing counts until the canceller takes the echo down this much: before it has learnt
                   # the room, what is left of the answer can sound like "stop", or even score as the wake word
STOP_ADAPTED_DB = 20.0  # stop words wait for more: at 12-20 dB, early in the first answer, what was left of
                        # "the news from the village" was now and then heard as "stop"
VOICE_FRAMES = 25  # 2 s: a wake word or stop word over the answer was said within this (the Korean spotter tells
                   # a stop word up to about 1.5 s after it began)
VOICE_RMS = 400.0  # ... and in some frame of it a voice this loud (about -38 dBFS) stood above the echo: what
                   # a soft-clipping loudspeaker left of the answer reached 280, a user at 1000 RMS 1400
STOP_HOLD_FRAMES = 6  # a stop word waits 480 ms for the wake word (the Korean grammar can hear "hey jarvis" as
                      # "그만" before it ends)


@dataclass(frozen=True)
class Interruption:
    word: str
    wake: Detection | None = None  # the wake word: listen at once; None: a stop word, stop


class BargeIn:
    """Told every cleaned frame (with the reference) while the speaker talks; says when to interrupt."""

    def __init__(self, wake: WakeDetector | None, settings: WakeSettings, stop_words: StopWords | None):
        """`wake`: the pipeline's wake detector (None: the wake word does not interrupt); `stop_words`
        hears the microphone (None: stop words do not interrupt)."""
        own = dataclasses.replace(settings, threshold=OWN_WAKE_THRESHOLD, trigger_frames=1, refractory_seconds=0.0)
        self._wake, self._threshold = wake, settings.threshold
        self._own_wake = wake.twin(own) if wake is not None else None
        self._stop_words = stop_words
        self._frame = 0
        self._own_wake_at = -ECHO_FRAMES - 1
        self._own_stop_until = 0  # the frame until which the speaker's own voice may sound like a stop word
        self._pending: tuple[str, int] | None = None  # a stop word heard, waiting out STOP_HOLD_FRAMES
        self._resting = True
        self._voice = collections.deque(maxlen=VOICE_FRAMES)  # per frame: how loud a voice besides the echo was

    def rest(self) -> None:
        """The speaker is silent: nothing to do until it talks again (cheap: called on every idle frame)."""
        if not self._resting:
            self._resting = True
            if self._wake is not None:
                self._wake.threshold = self._threshold

    def saying(self, text: str, seconds: float) -> None:
        """A sentence was handed to the sound device; it will have been heard in `seconds`."""
        if self._stop_words is not None and self._stop_words.sounds_like(text):
            until = self._frame + round((seconds + OWN_STOP_SECONDS) / FRAME_SECONDS)
            self._own_stop_until = max(self._own_stop_until, until)

    def hear(self, cleaned: np.ndarray, sent: np.ndarray, detection: Detection | None,
             echo_below_db: float | None = None, voice_rms: float | None = None) -> Interruption | None:
        """One frame while the speaker talks: the cleaned microphone, what the sound device started
        playing, what the wake detector made of the cleaned frame, how far below what is played
        the microphone hears it now (None: it cannot tell, a hardware canceller is trusted), and
        how loud a voice besides the echo is in the frame (None: it cannot tell)."""
        if self._resting:
            self._start()
        self._frame += 1
        self._voice.append(float("inf") if voice_rms is None else voice_rms)
        voiced = max(self._voice) >= VOICE_RMS
        adapted = (echo_below_db is None or echo_below_db >= ADAPTED_DB) and voiced
        if self._own_wake is not None:
            self._own_wake.process(sent)
            if self._own_wake.score >= OWN_WAKE_THRESHOLD:  # all the while it scores, not only as it rises
                self._own_wake_at = self._frame
        if self._wake is not None and detection is not None and adapted and self._frame - self._own_wake_at > ECHO_FRAMES:
            return self._interrupt(Interruption(detection.wake_word, detection))
        if self._stop_words is None:
            return None
        heard = self._stop_words.process(cleaned)
        well_adapted = (echo_below_db is None or echo_below_db >= STOP_ADAPTED_DB) and voiced
        if heard is not None and well_adapted and self._frame > self._own_stop_until:
            self._pending = (heard, self._frame)
        if self._pending is not None and self._frame - self._pending[1] >= STOP_HOLD_FRAMES:
            return self._interrupt(Interruption(self._pending[0]))
        return None

    def _interrupt(self, interruption: Interruption) -> Interruption:
        """The answer ends here: what the spotters heard of it is forgotten before the next one."""
        self.rest()
        return interruption

    def _start(self) -> None:
        self._resting = False
        if self._wake is not None:
            self._wake.threshold = max(self._threshold, SPEAKING_THRESHOLD)
        self._own_wake_at = self._frame - ECHO_FRAMES - 1
        self._pending = None
        self._voice.clear()
        if self._stop_words is not None:
            self._stop_words.reset()
