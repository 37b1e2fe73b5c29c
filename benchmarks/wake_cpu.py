"""Wake-word CPU: speaker's gated detector against openWakeWord's own plain loop, same audio.

    .venv/bin/python benchmarks/wake_cpu.py

Prints CPU seconds per minute of audio and the ratio, for a silent room and for a talkative one,
and checks both find the same wake words. Medians of several runs; quote ratios, not absolutes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import plain_openwakeword, recording, room, speech  # noqa: E402

from speaker.audio import FRAME_SAMPLES, frames_of  # noqa: E402
from speaker.config import WakeSettings  # noqa: E402
from speaker.wake import WakeDetector  # noqa: E402

RUNS = 5


def plain_loop(samples: np.ndarray) -> tuple[float, int]:
    """openWakeWord as its README shows it: predict() on every 80 ms frame."""
    model = plain_openwakeword()
    wakes, above = 0, False
    start = time.process_time()
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        score = model.predict(samples[i : i + FRAME_SAMPLES])["hey_jarvis"]
        wakes += score >= 0.5 and not above
        above = score >= 0.5
    return time.process_time() - start, wakes


def gated(samples: np.ndarray) -> tuple[float, int]:
    detector = WakeDetector(WakeSettings())
    start = time.process_time()
    wakes = sum(detector.process(frame) is not None for frame in frames_of(samples))
    return time.process_time() - start, wakes


def main() -> None:
    np.random.seed(0)
    hey = speech("hey jarvis", "en-us")
    scenes = {
        "silent room (60 s)": room(60.0),
        "talkative room (60 s)": recording(*[p for _ in range(6) for p in
                                             (2.0, hey, 1.0, speech("what time is it, and what day is it today?"), 4.0)]),
    }
    for name, samples in scenes.items():
        minutes = len(samples) / 16000 / 60
        plain = [plain_loop(samples) for _ in range(RUNS)]
        ours = [gated(samples) for _ in range(RUNS)]
        p = statistics.median(t for t, _ in plain) / minutes
        o = statistics.median(t for t, _ in ours) / minutes
        print(f"{name}: openWakeWord plain loop {p:.2f} CPU s/min, speaker {o:.2f} CPU s/min, "
              f"ratio {o / p:.3f}; wakes found {plain[0][1]} vs {ours[0][1]}")


if __name__ == "__main__":
    main()
