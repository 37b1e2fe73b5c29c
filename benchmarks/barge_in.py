"""Barge-in in a simulated room: the speaker's answers come back into its microphone after 45 ms,
with a 0.3 s reverberant tail, 0, 5 and 10 dB louder than the user.

    .venv/bin/python benchmarks/barge_in.py [--canceller speex|webrtc|off] [--trials N] [--stop-trials N]
                                            [--talk-minutes M]

Prints, per echo level: echo return loss enhancement (dB, echo-only stretches once the filter has
adapted), how many wake words and stop words said over an answer interrupted it, the time from the
end of the user's wake word to the answer stopping (file time, so the same on any machine),
self-interruptions while the speaker talks (answers that themselves say "hey jarvis", "stop",
"그만", "멈춰", and ordinary ones), and the CPU the canceller and barge-in add while it speaks.
The user is piper's joe voice (English) and espeak-ng (Korean); the speaker is its own default
voice (piper's joe in English here, the same voice as the user: the hardest case; espeak-ng in
Korean). `--talk-minutes 10` gives an hour of the speaker talking alone over the six rooms.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import Samples, at_level, natural_speech, recording, room, speech  # noqa: E402

from speaker.audio import FRAME_SECONDS, SAMPLE_RATE, frames_of  # noqa: E402
from speaker.config import EchoSettings, Settings  # noqa: E402
from speaker.dialogue import Dialogue  # noqa: E402
from speaker.echo import EchoCanceller  # noqa: E402
from speaker.endpoint import Endpointer  # noqa: E402
from speaker.events import EventBus  # noqa: E402
from speaker.assembly import barge_in_for  # noqa: E402
from speaker.pipeline import Pipeline, Stages  # noqa: E402
from speaker.testing.room import Room  # noqa: E402
from speaker.stt import Transcriber  # noqa: E402
from speaker.voice import Voice  # noqa: E402
from speaker.wake import WakeDetector  # noqa: E402

LEVELS = (0.0, 5.0, 10.0)
VOICE_RMS = 1000.0
ANNOUNCEMENT = {
    "en": "Here is the news from the village. The market opens at eight tomorrow, with fresh bread and apples. "
          "The library has new books for children, and the swimming pool is open late on Fridays. "
          "In the evening there will be music in the square, so bring a warm coat.",
    "ko": "오늘은 날씨가 맑고 바람이 조금 불어요. 저녁에는 구름이 많아지겠습니다. 내일은 아침부터 햇살이 가득하겠어요. "
          "주말에는 비가 조금 오겠지만 오후에는 그칠 거예요. 따뜻한 옷을 챙기세요.",
}
OWN_WORDS = {  # answers that say the wake word and the stop words, over and over
    "en": ["Say hey jarvis to wake me. If you want me to stop, just say stop. Hey jarvis, stop!",
           "Never mind the rain, it will stop soon. The bus stops at the top of the hill. Hey jarvis!",
           "Stop! Stop. Stop right there. Never mind, never mind, it was nothing.",
           "Don't stop believing, she said, and never mind the weather. Stopping is fine. Stopped. Non-stop.",
           "Hey jarvis, hey jarvis, can you hear me? Say hey jarvis, then say stop. Please stop. Just stop."],
    "ko": ["그만 하고 싶으면 그만 이라고 말하세요. 멈춰 라고 해도 돼요. 그만! 멈춰! 헤이 자비스.",
           "그만큼 따뜻한 하루가 될 거예요. 멈추지 말고 천천히 걸어 보세요. 그만 멈춰.",
           "그만! 그만. 이제 그만. 멈춰! 멈춰. 거기 멈춰.",
           "헤이 자비스, 헤이 자비스, 들리나요? 멈추지 마세요. 그만두지 마세요.",
           "타이머를 그만 멈춰 드릴까요? 이제 그만 멈춰요. 그만 그만."],
}
STOP_SAID = {"en": [("stop", 0.9), ("never mind", 1.0), ("stop", 1.15), ("never mind", 1.1), ("stop", 1.0)],
             "ko": [("멈춰", "ko+f3"), ("그만", "ko+f1"), ("멈춰", "ko+m3"), ("그만", "ko+f3"), ("멈춰", "ko+f1")]}



class NoSink:
    def play(self, samples, rate) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass



def spoken_seconds(samples: np.ndarray) -> float:
    """Where the speech in `samples` ends (the voices leave some silence after it)."""
    loud = np.flatnonzero(np.abs(samples) > 300)
    return (loud[-1] + 1) / SAMPLE_RATE if len(loud) else 0.0


class Scene:
    """The stages of one language, kept for all trials at one echo level (the canceller stays adapted
    to the room, as in a home), driven in a simulated room."""

    def __init__(self, language: str, echo: EchoSettings, transcriber, dialogue):
        settings = dataclasses.replace(Settings(language=language), echo=echo)
        wake = WakeDetector(settings.wake)
        self.stages = Stages(wake=wake, endpointer=Endpointer(settings.listen), transcriber=transcriber,
                             dialogue=dialogue, voice=Voice(settings.voice, language), echo=EchoCanceller(settings.echo),
                             barge_in=barge_in_for(settings, wake, transcriber))
        self.language = language
        self.cpu = 0.0
        self.speaking_frames = 0
        self.own_seconds = 0.0  # the speaker talking with nobody talking over it
        self.own_barge_ins: list[str] = []  # ... and the words it interrupted itself with meanwhile
        self.gains: dict[float, float] = {}  # the room at each echo level

    def run(self, user: np.ndarray, echo_db: float, say: str, user_from: float = float("inf"),
            make_room=None) -> list[str]:
        """Announce `say` over `user`, who speaks from `user_from` seconds on; return the words of the
        barge-ins after that. Those before it are the speaker interrupting itself (counted).
        `make_room(user)`: another room than the simulated one (its `source`, `sink` and `now`)."""
        bus = EventBus("bench")
        heard: list[tuple[float, str]] = []
        if make_room is None:
            the_room = Room(Samples(user), NoSink(), echo_db=echo_db, voice_rms=VOICE_RMS, gain=self.gains.get(echo_db))
        else:
            the_room = make_room(user)
        bus.subscribe(lambda e: heard.append((the_room.now / SAMPLE_RATE, e["word"])) if e["type"] == "barge_in" else None)
        self.stops: list[int] = []
        stop = the_room.sink.stop
        the_room.sink.stop = lambda: (self.stops.append(the_room.now), stop())
        pipeline = Pipeline(stages=self.stages, bus=bus, sink=the_room.sink)
        pipeline.start()
        pipeline.submit("say", {"text": say})
        for frame in the_room.source:
            speaking = pipeline.state.value == "speaking"
            start = time.process_time()
            pipeline.process(frame)
            if speaking:
                self.cpu += time.process_time() - start
                self.speaking_frames += 1
                if the_room.now < user_from * SAMPLE_RATE:
                    self.own_seconds += FRAME_SECONDS
        pipeline.finish()
        if make_room is None:
            self.gains[echo_db] = the_room.gain  # one room: its acoustics (which the canceller has learnt) stay
        self.stages.echo.stopped()  # the next trial is another room: nothing of this one is still playing
        self.own_barge_ins += [word for t, word in heard if t < user_from]
        return [word for t, word in heard if t >= user_from]


def erle(echo: EchoSettings, echo_db: float) -> float:
    """Echo return loss enhancement on echo-only audio after 8 s of adaptation."""
    answer = speech(ANNOUNCEMENT["en"] + " " + ANNOUNCEMENT["en"])
    canceller = EchoCanceller(echo)
    the_room = Room(Samples(room(len(answer) / SAMPLE_RATE)), NoSink(), echo_db=echo_db, voice_rms=VOICE_RMS)
    the_room.sink.play(answer, SAMPLE_RATE)
    canceller.played(answer, SAMPLE_RATE)
    mic, out = [], []
    for frame in the_room.source:
        mic.append(frame)
        out.append(canceller.process(frame))
    late = slice(8 * SAMPLE_RATE, len(answer))
    power = lambda x: float(np.mean(np.concatenate(x)[late].astype(np.float64) ** 2))  # noqa: E731
    return 10 * np.log10(power(mic) / power(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--canceller", default="speex", choices=("speex", "webrtc", "off"))
    parser.add_argument("--trials", type=int, default=20, help="wake words per echo level, half in each language")
    parser.add_argument("--stop-trials", type=int, default=10, help="stop words per echo level, half in each language")
    parser.add_argument("--talk-minutes", type=float, default=1.0,
                        help="minutes the speaker talks alone per language and echo level, counting self-interruptions")
    args = parser.parse_args()
    echo = EchoSettings(canceller=args.canceller, stop_words=True)
    rng = np.random.default_rng(1)
    ko_dialogue = Dialogue("ko", seed=0)
    ko_transcriber = Transcriber.for_dialogue(Settings(), ko_dialogue)  # as the daemon builds it
    en_dialogue = Dialogue("en", seed=0)
    hey = [at_level(natural_speech("hey jarvis", scale)) for scale in (0.9, 1.0, 1.1, 1.25)]
    stop_words = {"en": [at_level(natural_speech(text, scale)) for text, scale in STOP_SAID["en"]],
             "ko": [at_level(speech(text, voice, 150)) for text, voice in STOP_SAID["ko"]]}
    rows = []
    for echo_db in LEVELS:
        scenes = {"en": Scene("en", echo, None, en_dialogue), "ko": Scene("ko", echo, ko_transcriber, ko_dialogue)}
        wakes, latencies = 0, []
        for i in range(args.trials):
            language = ("en", "ko")[i % 2]
            at = float(rng.uniform(3.0, 9.0))
            word = hey[i % len(hey)]
            user = recording(at, word, 2.5)
            scene = scenes[language]
            words = scene.run(user, echo_db, ANNOUNCEMENT[language], user_from=at)
            if words[:1] == ["hey_jarvis"]:
                wakes += 1
                stops = [n for n in scene.stops if n >= at * SAMPLE_RATE]
                latencies.append((stops[0] / SAMPLE_RATE - at - spoken_seconds(word)) * 1000)
        stopped, stop_latencies = 0, []
        for i in range(args.stop_trials):
            language = ("en", "ko")[i % 2]
            word = stop_words[language][i // 2 % len(stop_words[language])]
            at = float(rng.uniform(3.0, 9.0))
            scene = scenes[language]
            words = scene.run(recording(at, word, 2.5), echo_db, ANNOUNCEMENT[language], user_from=at)
            if words and words[0] != "hey_jarvis":
                stopped += 1
                cut = [n for n in scene.stops if n >= at * SAMPLE_RATE]
                stop_latencies.append((cut[0] / SAMPLE_RATE - at - spoken_seconds(word)) * 1000)
        for language, texts in OWN_WORDS.items():
            scene, n = scenes[language], 0
            alone_until = scene.own_seconds + args.talk_minutes * 60  # besides the talk before each trial's user
            while scene.own_seconds < alone_until:
                text = texts[n % len(texts)]
                scene.run(recording(2.0 + len(text) / 5), echo_db, text)
                n += 1
        own = {language: (s.own_barge_ins, s.own_seconds) for language, s in scenes.items()}
        cpu = sum(s.cpu for s in scenes.values()) / sum(s.speaking_frames * FRAME_SECONDS for s in scenes.values())
        rows.append((echo_db, erle(echo, echo_db), wakes, args.trials, latencies, stopped, args.stop_trials,
                     stop_latencies, own, cpu))
    quiet = quiet_room_cpu(echo)
    before = speaking_cpu(EchoSettings(canceller="off", barge_in=False, stop_words=False), ko_transcriber, ko_dialogue)
    print(f"canceller: {args.canceller}; room: echo after 45 ms with a 0.3 s tail; user speech at {VOICE_RMS:.0f} RMS")
    print("| echo vs user | ERLE | wake word over the answer | end of wake word → answer stops (median, max) "
          "| stop words over the answer | end of stop word → stops (median) | self-interruptions (en; ko) "
          "| CPU while speaking |")
    print("|---|---|---|---|---|---|---|---|")
    for echo_db, gain, wakes, trials, lat, stopped, stop_trials, stop_lat, own, cpu in rows:
        median = lambda xs: f"{statistics.median(xs):.0f} ms" if xs else "-"  # noqa: E731
        print(f"| +{echo_db:.0f} dB | {gain:.1f} dB | {wakes}/{trials} | {median(lat)}, {max(lat, default=0):.0f} ms "
              f"| {stopped}/{stop_trials} | {median(stop_lat)} | "
              + "; ".join(f"{len(n)} in {t / 60:.1f} min {n}" for n, t in own.values())
              + f" | {cpu * 100:.1f} % of a core |")
    print(f"CPU while speaking without canceller and barge-in (the wake word ran then too): {before * 100:.1f} % of a core")
    print(f"quiet room (60 s, nothing played): pipeline CPU {quiet[0]:.3f} s with the canceller and barge-in, "
          f"{quiet[1]:.3f} s without (ratio {quiet[0] / max(quiet[1], 1e-9):.2f})")


def speaking_cpu(echo: EchoSettings, ko_transcriber, ko_dialogue) -> float:
    """Share of a core the pipeline takes while it speaks (the answers of the self-interruption runs)."""
    scenes = [Scene("en", echo, None, Dialogue("en", seed=0)), Scene("ko", echo, ko_transcriber, ko_dialogue)]
    for scene in scenes:
        for text in OWN_WORDS[scene.language]:
            scene.run(recording(2.0 + len(text) / 5), 5.0, text)
    return sum(s.cpu for s in scenes) / sum(s.speaking_frames * FRAME_SECONDS for s in scenes)


def quiet_room_cpu(echo: EchoSettings) -> tuple[float, float]:
    """CPU seconds of the pipeline on a minute of quiet room, with and without echo and barge-in stages."""
    settings = Settings()
    dialogue = Dialogue("en", seed=0)
    samples = room(60.0)
    results = []
    for with_echo in (True, False):
        runs = []
        for _ in range(3):
            wake = WakeDetector(settings.wake)
            stages = Stages(wake=wake, endpointer=Endpointer(settings.listen), transcriber=None, dialogue=dialogue,
                            voice=Voice(settings.voice, "en"),
                            echo=EchoCanceller(echo if with_echo else EchoSettings(canceller="off")),
                            barge_in=barge_in_for(settings, wake, None) if with_echo else None)
            pipeline = Pipeline(stages=stages, bus=EventBus("bench"), sink=NoSink())
            pipeline.start()
            start = time.process_time()
            for frame in frames_of(samples):
                pipeline.process(frame)
            runs.append(time.process_time() - start)
        results.append(statistics.median(runs))
    return results[0], results[1]


if __name__ == "__main__":
    main()
