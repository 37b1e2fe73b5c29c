"""Barge-in through the sound-server tests' room, with and without the residual echo suppressor.

    .venv/bin/python benchmarks/residual_echo.py [--set tuning|frozen|both] [--trials N] [--stop-trials N]
                                                 [--own-rounds N] [--suppressor on|off|both]

The room is tests/sound_room.py's echo path (delay, reverberation, soft clipping like a small
loudspeaker, the loudspeaker's clock slow, a sound device's buffer), run here in file time inside
this process, so every machine measures the same. Per room of a split (benchmarks/data/
residual_echo_*.json; the frozen one was written before any tuning and never changed) and with the
suppressor on and off: the echo's reduction (echo-only, after 8 s), wake words and stop words said
over an answer that interrupted it (half in each language), self-interruptions while the speaker
says answers full of "hey jarvis", "stop", "never mind", 그만 and 멈춰 alone (and the seconds after
each), and the canceller's CPU per 80 ms frame.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from barge_in import Scene  # noqa: E402
from conftest import at_level, natural_speech, recording, speech  # noqa: E402
from sound_room import FileTimeRoom  # noqa: E402

from speaker.audio import FRAME_SAMPLES, SAMPLE_RATE, resample  # noqa: E402
from speaker.config import EchoSettings, Settings  # noqa: E402
from speaker.dialogue import Dialogue  # noqa: E402
from speaker.echo import EchoCanceller  # noqa: E402
from speaker.stt import Transcriber  # noqa: E402
from speaker.testing.room import speech_rms  # noqa: E402
from speaker.voice import Voice  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
VOICE_RMS = 1000.0
AFTER_SECONDS = 4.0  # listened to after an answer alone ends: its echo still comes


def own_voice(language: str) -> Voice:
    return Voice(Settings(language=language).voice, language)


def reduction(room: dict, echo: EchoSettings, text: str, voice: Voice) -> tuple[float, float]:
    """The echo's reduction on echo-only audio after 8 s (dB), and the canceller's CPU per frame (ms)."""
    answer = resample(voice.synthesize(text + " " + text), voice.rate, SAMPLE_RATE).astype(np.int16)
    the_room = FileTimeRoom(user=silence(len(answer) / SAMPLE_RATE), speaker_rms=speech_rms(answer), **room)
    canceller = EchoCanceller(echo)
    the_room.sink.play(answer, SAMPLE_RATE)
    canceller.played(answer, SAMPLE_RATE)
    mic, out, cpu = [], [], 0.0
    for frame in the_room.source:
        start = time.process_time()
        out.append(canceller.process(frame))
        cpu += time.process_time() - start
        mic.append(frame)
    late = slice(8 * SAMPLE_RATE, len(answer))
    power = lambda x: float(np.mean(np.concatenate(x)[late].astype(np.float64) ** 2))  # noqa: E731
    return 10 * np.log10(power(mic) / power(out)), cpu / len(mic) * 1000


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES, np.int16)


def measure(split: dict, echo: EchoSettings, args, shared: dict) -> list[str]:
    rng = np.random.default_rng(split["placement_seed"])
    hey = [at_level(natural_speech("hey jarvis", scale)) for scale in split["wake_scales"]]
    stop_words = {"en": [at_level(natural_speech(text, scale)) for text, scale in split["stop_words"]["en"]],
                  "ko": [at_level(speech(text, voice, 150)) for text, voice in split["stop_words"]["ko"]]}
    rows = []
    for spec in split["rooms"]:
        room_args = {key: spec[key] for key in ("echo_db", "delay_ms", "reverb", "drift", "device_ms", "seed")}
        scenes = {"en": Scene("en", echo, None, shared["en_dialogue"]),
                  "ko": Scene("ko", echo, shared["ko_transcriber"], shared["ko_dialogue"])}
        rms = {language: speech_rms(resample(s.stages.voice.synthesize(split["announcements"][language]),
                                             s.stages.voice.rate, SAMPLE_RATE).astype(np.int16))
               for language, s in scenes.items()}

        def make_room(language):
            return lambda user: FileTimeRoom(user=user, speaker_rms=rms[language], voice_rms=VOICE_RMS, **room_args)

        for language, scene in scenes.items():  # the canceller learns the room first, as at home
            scene.run(recording(8.0), spec["echo_db"], split["announcements"][language][:120], make_room=make_room(language))
            scene.own_barge_ins, scene.own_seconds = [], 0.0
        wakes, stops = {"en": 0, "ko": 0}, {"en": 0, "ko": 0}
        for i in range(args.trials):
            language = ("en", "ko")[i % 2]
            at = float(rng.uniform(3.0, 9.0))
            words = scenes[language].run(recording(at, hey[i // 2 % len(hey)], 2.5), spec["echo_db"],
                                         split["announcements"][language], user_from=at, make_room=make_room(language))
            wakes[language] += words[:1] == ["hey_jarvis"]
        for i in range(args.stop_trials):
            language = ("en", "ko")[i % 2]
            at = float(rng.uniform(3.0, 9.0))
            word = stop_words[language][i // 2 % len(stop_words[language])]
            words = scenes[language].run(recording(at, word, 2.5), spec["echo_db"], split["announcements"][language],
                                         user_from=at, make_room=make_room(language))
            stops[language] += bool(words) and words[0] != "hey_jarvis"
        own = {}
        for language, scene in scenes.items():
            for _ in range(args.own_rounds):
                for text in split["own_words"][language]:
                    seconds = len(scene.stages.voice.synthesize(text)) / scene.stages.voice.rate
                    scene.run(recording(seconds + AFTER_SECONDS), spec["echo_db"], text, make_room=make_room(language))
            own[language] = (scene.own_barge_ins, scene.own_seconds)
        erle, cpu = reduction(room_args, echo, split["announcements"]["en"], scenes["en"].stages.voice)
        count = lambda n, trials: f"{sum(n.values())}/{trials} ({n['en']}; {n['ko']})"  # noqa: E731
        rows.append(f"| {spec['echo_db']:+.0f} dB | {erle:.1f} dB | {count(wakes, args.trials)} | "
                    f"{count(stops, args.stop_trials)} | "
                    + "; ".join(f"{len(words)} in {t / 60:.1f} min {words}" for words, t in own.values())
                    + f" | {cpu:.2f} ms |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tuning", "frozen", "both"), default="both")
    parser.add_argument("--suppressor", choices=("on", "off", "both"), default="both")
    parser.add_argument("--trials", type=int, default=10, help="wake words per room, half in each language")
    parser.add_argument("--stop-trials", type=int, default=10, help="stop words per room, half in each language")
    parser.add_argument("--own-rounds", type=int, default=2, help="times each answer alone is said per room")
    args = parser.parse_args()
    ko_dialogue = Dialogue("ko", seed=0)
    shared = {"ko_dialogue": ko_dialogue, "en_dialogue": Dialogue("en", seed=0),
              "ko_transcriber": Transcriber.for_dialogue(Settings(), ko_dialogue)}  # as the daemon builds it
    for name in (("tuning", "frozen") if args.set == "both" else (args.set,)):
        split = json.loads((DATA / f"residual_echo_{name}.json").read_text())
        for on in ((True, False) if args.suppressor == "both" else (args.suppressor == "on",)):
            echo = dataclasses.replace(EchoSettings(), suppress_residual=on)
            print(f"== {name} set, residual echo suppressor {'on' if on else 'off'}", flush=True)
            print("| echo vs user | reduction | wake words over an answer (en; ko) | stop words (en; ko) | "
                  "self-interruptions (en; ko) | canceller CPU per frame |")
            print("|---|---|---|---|---|---|")
            for row in measure(split, echo, args, shared):
                print(row, flush=True)


if __name__ == "__main__":
    main()
