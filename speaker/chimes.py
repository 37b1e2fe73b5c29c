"""Soft sounds: a rising chime when the speaker starts listening, a falling one when an answer ends.

Made here from a few sine partials under a smooth envelope (no sound files): quiet, short, and
with nothing in them that a voice detector or a wake-word model takes for speech.
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.12  # of full scale: a chime is heard, never louder than the answer


def _tone(rate: int, notes: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """Each (frequency, start) note rings out under a soft attack and an exponential decay."""
    t = np.arange(int(rate * seconds)) / rate
    sound = np.zeros_like(t)
    for frequency, start in notes:
        since = np.clip(t - start, 0, None)
        envelope = np.where(t >= start, (1 - np.exp(-since / 0.006)) * np.exp(-since / 0.09), 0.0)
        sound += envelope * (np.sin(2 * np.pi * frequency * since) + 0.25 * np.sin(4 * np.pi * frequency * since))
    fade = np.minimum(1.0, (len(t) - np.arange(len(t))) / (0.02 * rate))  # no click at the end
    sound *= fade / max(1e-9, np.abs(sound).max())
    return (sound * LEVEL * 32767).astype(np.int16)


def listening(rate: int) -> np.ndarray:
    """"I'm listening": two notes going up (E5, A5), 0.3 s."""
    return _tone(rate, [(659.3, 0.0), (880.0, 0.08)], 0.3)


def done(rate: int) -> np.ndarray:
    """"Done": two notes going down (A5, E5), 0.3 s."""
    return _tone(rate, [(880.0, 0.0), (659.3, 0.08)], 0.3)
