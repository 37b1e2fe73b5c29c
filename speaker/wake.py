"""Wake word: an engine's scores on 80 ms frames (openWakeWord or microWakeWord), behind a cheap silence gate.

In a silent room the gate (webrtcvad, microseconds a frame) keeps the wake-word models asleep.
When sound starts, the last ~1.6 s of audio is fed to the models first, so they see the whole
wake word and the same context they would have seen had they run all along.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE
from .config import WakeSettings
from .wake_engines import ENGINES, microwakeword_config, openwakeword_model_path

log = logging.getLogger(__name__)

CONTEXT_FRAMES = 20  # 1.6 s: covers the models' 1.28 s embedding window and 0.76 s mel window
ECHO_GUARD_FRAMES = 6  # 0.5 s after the speaker stops talking
GATE_HANGOVER_FRAMES = 15  # keep the models running 1.2 s past the last speech (scores peak ~0.4 s after it)


def model_path(name: str, engine: str = "openwakeword") -> Path:
    """The model file for a wake word name (or the path the user gave); ModelMissing if there is none."""
    return (openwakeword_model_path if engine == "openwakeword" else microwakeword_config)(name)


@dataclass(frozen=True)
class Detection:
    wake_word: str
    score: float


class SilenceGate:
    """Says whether a frame might hold speech; cheap enough to run on every frame.

    A frame counts when it is clearly louder than the room's own hum (a noise floor that follows
    the quietest recent frames) and webrtcvad finds speech in it: faint room noise alone, which
    webrtcvad on its own often takes for speech, keeps the gate shut."""

    SUBFRAME = 320  # webrtcvad takes 10, 20 or 30 ms
    ABOVE_FLOOR = 2.5  # ~8 dB louder than the room
    MIN_RMS = 30.0  # below this (-60 dBFS) nothing is speech, whatever the floor

    def __init__(self, aggressiveness: int = 2):
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self._floor = self.MIN_RMS

    def heard(self, frame: np.ndarray) -> bool:
        samples = frame.astype(np.float32)
        rms = float(np.sqrt(np.dot(samples, samples) / len(samples)))
        # the floor drops at once to a quieter frame and creeps up (about 1 % a frame) otherwise
        self._floor = max(self.MIN_RMS, rms if rms < self._floor else self._floor * 1.01)
        if rms < self._floor * self.ABOVE_FLOOR:
            return False
        raw = frame.tobytes()
        step = self.SUBFRAME * 2
        return any(self._vad.is_speech(raw[i : i + step], SAMPLE_RATE) for i in range(0, len(raw), step))


class WakeDetector:
    """Takes frames, returns a Detection when a wake word was said."""

    def __init__(self, settings: WakeSettings, engine=None):
        """`engine`: one already loaded (a twin of another detector's), else the settings' own."""
        self.engine = engine or ENGINES[settings.engine](list(settings.models))
        self.names = self.engine.names
        self.threshold = settings.threshold
        self.trigger_frames = settings.trigger_frames
        self.refractory_frames = round(settings.refractory_seconds / FRAME_SECONDS)
        self.gate = SilenceGate() if settings.silence_gate else None
        self.model_frames = 0  # frames the models actually ran on (for CPU measurements)
        self.score = 0.0  # the highest wake-word score of the last frame (0 while the silence gate sleeps)
        self._recent: collections.deque[np.ndarray] = collections.deque(maxlen=CONTEXT_FRAMES)
        self._awake_frames = 0  # frames left before the models sleep again (0: asleep)
        self._ignore_frames = 0
        self._streak = dict.fromkeys(self.names, 0)
        self._armed = set(self.names)
        silence = np.zeros(FRAME_SAMPLES, np.int16)  # the models' history starts as a silent room
        for _ in range(CONTEXT_FRAMES + 5):
            self.engine.scores(silence)

    def twin(self, settings: WakeSettings) -> "WakeDetector":
        """Another detector with `settings`, for another stream of audio, sharing these models."""
        return WakeDetector(settings, self.engine.twin())

    def resume(self, after_silence: bool = False) -> None:
        """A turn just ended: ignore what is still ringing of the speaker's own voice. After a time
        without audio (mute), ignore until the models' context holds only new audio."""
        guard = CONTEXT_FRAMES if after_silence else ECHO_GUARD_FRAMES
        self._ignore_frames = max(self._ignore_frames, guard)
        self._streak = dict.fromkeys(self.names, 0)

    def process(self, frame: np.ndarray) -> Detection | None:
        """Feed one 80 ms frame; return a Detection if a wake word just completed."""
        if self.gate is None:
            return self._predict(frame)
        heard = self.gate.heard(frame)
        asleep = self._awake_frames == 0
        if asleep and not heard and self._ignore_frames == 0:
            self._recent.append(frame)
            self.score = 0.0
            return None
        detection = None
        if asleep:  # waking up: let the models catch up on the audio they slept through
            for earlier in self._recent:
                detection = self._predict(earlier) or detection
            self._recent.clear()
        self._awake_frames = GATE_HANGOVER_FRAMES if heard else max(self._awake_frames - 1, 0)
        return self._predict(frame) or detection

    def _predict(self, frame: np.ndarray) -> Detection | None:
        self.model_frames += 1
        scores = self.engine.scores(frame)
        self.score = max(float(scores[name]) for name in self.names)
        if self._ignore_frames > 0:
            self._ignore_frames -= 1
            return None
        best = None
        for name in self.names:
            score = float(scores[name])
            if score < self.threshold:
                self._streak[name] = 0
                self._armed.add(name)  # one wake per time the score rises over the threshold
                continue
            self._streak[name] += 1
            if name in self._armed and self._streak[name] >= self.trigger_frames and (best is None or score > best.score):
                best = Detection(name, round(score, 4))
        if best is not None:
            self._ignore_frames = self.refractory_frames
            self._armed.clear()
        return best
