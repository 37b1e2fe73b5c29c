"""How long the echo canceller takes to learn the room, with the loudspeaker's clock off the microphone's.

    .venv/bin/python benchmarks/echo_convergence.py [--set tuning|frozen|both]

Each room (benchmarks/data/echo_rooms_*.json) is the sound-server tests' room process
(tests/sound_room.py: delay, reverberation, soft clipping, the loudspeaker's clock `drift` slow),
run here in file time so that every machine measures the same: the speaker says a first answer,
is quiet for 3 s (the room's clocks meet again, so the echo's delay jumps back), then says the
answer twice over. Printed per room and answer: the seconds of answer from which on the canceller's
measured reduction (what barge-in waits for) stays at 12 dB (the wake word) and 20 dB (stop words),
the reduction 5 s in, and the canceller's CPU per second of answer. The tuning split is the tests'
room; the frozen split was written before any tuning and never changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import sound_room  # noqa: E402

from speaker.audio import FRAME_SAMPLES, SAMPLE_RATE, resample  # noqa: E402
from speaker.config import EchoSettings, Settings  # noqa: E402
from speaker.echo import EchoCanceller  # noqa: E402
from speaker.testing.room import speech_rms  # noqa: E402
from speaker.voice import Voice  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
VOICE_RMS = 1000.0
QUIET_SECONDS = 3.0
LEVELS = (12.0, 20.0)


class Loop:
    """The speaker's canceller, a sound device `device_ms` late, and the room, sample for sample."""

    def __init__(self, room: dict, speaker_rms: float):
        args = types.SimpleNamespace(voice_rms=VOICE_RMS, echo_db=room["echo_db"], speaker_rms=speaker_rms,
                                     delay_ms=room["delay_ms"], reverb=room["reverb"], seed=room["seed"],
                                     drift=room["drift"])
        self.room = sound_room.Room(args)
        self.canceller = EchoCanceller(EchoSettings())
        self._queue = np.zeros(0, np.int16)  # handed to the device, not yet played
        self._device = np.zeros(int(room["device_ms"] * SAMPLE_RATE / 1000), np.int16)  # in the device's buffers
        self._heard: list[np.ndarray] = []

    def say(self, samples: np.ndarray) -> None:
        self.canceller.played(samples, SAMPLE_RATE)
        self._queue = np.concatenate([self._queue, samples])

    def run(self, seconds: float) -> tuple[np.ndarray, float]:
        """The canceller's reduction after each microphone frame for `seconds`, and its CPU seconds."""
        reduction, cpu = [], 0.0
        for _ in range(int(seconds * SAMPLE_RATE) // sound_room.BLOCK):
            block, self._queue = self._queue[: sound_room.BLOCK], self._queue[sound_room.BLOCK:]
            block = np.concatenate([self._device, block, np.zeros(sound_room.BLOCK - len(block), np.int16)])
            played, self._device = block[: sound_room.BLOCK], block[sound_room.BLOCK:]
            self._heard.append(np.clip(self.room.block(played), -32768, 32767).astype(np.int16))
            if len(self._heard) * sound_room.BLOCK == FRAME_SAMPLES:
                frame, self._heard = np.concatenate(self._heard), []
                start = time.process_time()
                self.canceller.process(frame)
                cpu += time.process_time() - start
                reduction.append(self.canceller.echo_below_db)
        return np.array(reduction), cpu


def held_from(reduction: np.ndarray, db: float) -> str:
    """From when on the reduction stays at `db` or more to the end of the answer."""
    below = np.flatnonzero(reduction < db)
    at = below[-1] + 1 if len(below) else 0
    return f"{at * FRAME_SAMPLES / SAMPLE_RATE:5.1f} s" if at < len(reduction) else "never  "


def measure(room: dict, text: str, voice: Voice) -> list[str]:
    first = resample(voice.synthesize(text), voice.rate, SAMPLE_RATE).astype(np.int16)
    second = np.concatenate([first, first])
    loop = Loop(room, speech_rms(first))
    rows = []
    for name, answer, after in (("first", first, QUIET_SECONDS), ("second", second, 0.0)):
        loop.say(answer)
        seconds = len(answer) / SAMPLE_RATE
        reduction, cpu = loop.run(seconds + after)
        reduction = reduction[: int(seconds * SAMPLE_RATE / FRAME_SAMPLES)]
        at5 = reduction[min(len(reduction) - 1, int(5 * SAMPLE_RATE / FRAME_SAMPLES))]
        rows.append(f"{name:6} answer ({seconds:4.1f} s): 12 dB from {held_from(reduction, 12)}, 20 dB from "
                    f"{held_from(reduction, 20)}, {at5:4.1f} dB 5 s in, CPU {cpu / seconds * 1000:4.1f} ms/s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tuning", "frozen", "both"), default="both")
    args = parser.parse_args()
    voices: dict[str, Voice] = {}
    for name in (("tuning", "frozen") if args.set == "both" else (args.set,)):
        split = json.loads((DATA / f"echo_rooms_{name}.json").read_text())
        print(f"== {name} set")
        for room in split["rooms"]:
            language = room["language"]
            if language not in voices:
                voices[language] = Voice(Settings(language=language).voice, language)
            print(f"{language} drift {room['drift'] * 100:.2f} %, echo {room['echo_db']:+.0f} dB, {room['delay_ms']} ms "
                  f"+ device {room['device_ms']} ms, reverb {room['reverb']} s")
            for row in measure(room, split["texts"][language], voices[language]):
                print("   ", row)


if __name__ == "__main__":
    main()
