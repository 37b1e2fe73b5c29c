"""Answer latency: from the end of the user's speech to the first sample of the answer.

    .venv/bin/python benchmarks/latency.py [--outside [--language en]]

Runs the real `speaker run --realtime` (paced like a live microphone) over several Korean turns and
prints the `latency_ms` the speaking events report (silence window + recognition + answer +
first synthesised sentence), median and worst, plus the daemon's peak memory. With `--outside`, the
audio comes from another process instead, in real time, through `audio.input_command` (as `arecord`
gives it on a Pi), and the turns include sentences the speaker does not know (free recognition):
medians for known sentences and for free recognition apart (`--language en`: English turns in
piper's joe voice, which Whisper hears again where the grammar-first passes doubt them). Then, in-process
with a live clock and a frame every 80 ms, how long a `say` of 1,000 characters takes to its first
sample, and the longest the pipeline's thread was held meanwhile (it should never wait for speech).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import natural_speech, recording, speech, write_wav  # noqa: E402

ASKS = ["지금 몇 시야", "오늘 날씨 어때", "이름이 뭐야", "고마워", "오늘 무슨 요일이에요", "멈춰"]
FREE = ["오늘 저녁에 친구를 만나기로 했어요", "우리 강아지가 공원에서 뛰어 놀아요", "학교에 가는 길에 버스를 탔어요"]
# English (`--outside --language en`): piper's joe, the words the speaker knows, then others
ASKS_EN = ["what time is it", "what's the weather like", "what's your name", "thank you", "what day is it",
           "good night"]
FREE_EN = ["I went to the shop to buy some bread", "my dog loves to run around in the park",
           "I took the bus to work this morning"]
FEEDER = """import sys, time
data = open(sys.argv[1], "rb").read()
start = time.monotonic()
for i in range(0, len(data), 2560):
    time.sleep(max(0.0, start + i / 32000 - time.monotonic()))
    sys.stdout.buffer.write(data[i:i + 2560]); sys.stdout.buffer.flush()
time.sleep(30)
"""  # 80 ms frames of 16 kHz s16le at the pace a microphone gives them, then a quiet microphone
LONG_SAY = ("오늘 저녁 여섯 시에 가족 모임이 있습니다. 늦지 않게 준비해 주세요. " * 30)[:990].strip()


class FirstSample:
    """A sink that notes when the first sample was handed to it."""

    at: float | None = None

    def play(self, samples, rate) -> None:
        self.at = self.at or time.monotonic()

    def stop(self) -> None:
        pass


def say_latency(runs: int = 5) -> tuple[float, float]:
    """Median seconds from a 1,000-character `say` to its first sample, and the longest single
    step of the pipeline's thread meanwhile."""
    from speaker.audio import FRAME_SECONDS
    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.events import EventBus
    from speaker.pipeline import Pipeline, Stages
    from speaker.voice import Voice
    from speaker.wake import WakeDetector

    settings = Settings(language="ko")
    stages = Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(settings.listen), transcriber=None,
                    dialogue=Dialogue("ko"), voice=Voice(settings.voice, "ko"), echo=EchoCanceller(settings.echo))
    firsts, held = [], 0.0
    for _ in range(runs):
        sink = FirstSample()
        pipeline = Pipeline(stages=stages, bus=EventBus("bench"), sink=sink, clock=time.monotonic)
        pipeline.submit("say", {"text": LONG_SAY})
        asked = time.monotonic()
        while sink.at is None:  # the pipeline's thread, as a live microphone drives it: a frame each 80 ms
            step = time.monotonic()
            pipeline.tick()
            held = max(held, time.monotonic() - step)
            time.sleep(max(0.0, FRAME_SECONDS - (time.monotonic() - step)))
        firsts.append(sink.at - asked)
        pipeline.submit("stop")
        pipeline.tick()
    return statistics.median(firsts), held


def plain(text: str) -> str:
    """`text` without case or marks ("What time is it?", as Whisper writes it, is "what time is it")."""
    return re.sub(r"[^\w\s']", "", text.lower()).strip()


def outside(language: str) -> None:
    """Known and free turns fed in real time by another process; latencies by kind of turn."""
    hey = speech("hey jarvis", "en-us")
    asks, free = (ASKS, FREE) if language == "ko" else (ASKS_EN, FREE_EN)
    parts = [1.0]
    for text in asks + free:
        parts += [hey, 0.7, speech(text, "ko+f3", 165) if language == "ko" else natural_speech(text), 6.0]
    audio = recording(*parts)
    with tempfile.TemporaryDirectory() as tmp:
        raw, feeder, conf = Path(tmp) / "turns.raw", Path(tmp) / "feed.py", Path(tmp) / "speaker.toml"
        raw.write_bytes(audio.astype("<i2").tobytes())
        feeder.write_text(FEEDER)
        conf.write_text(f'language = "{language}"\n[audio]\ninput_command = "{sys.executable} {feeder} {raw}"\n')
        daemon = subprocess.Popen([sys.executable, "-m", "speaker", "run", "--config", str(conf), "--output",
                                   str(Path(tmp) / "out.wav"), "--events-jsonl", "-"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(len(audio) / 16000 + 8)  # start-up, then the audio in real time
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    said = {e["turn"]: e["text"] for e in events if e["type"] == "transcript" and e["final"]}
    waited = {"known": [], "free": []}
    for e in events:
        if e.get("state") == "speaking" and "latency_ms" in e and e["turn"] in said:
            known = any(plain(said[e["turn"]]) in (plain(text), plain(text.replace("이에요", " 이에요"))) for text in asks)
            waited["known" if known else "free"].append(e["latency_ms"])
    print(f"fed from outside in real time: {len(said)} turns heard of {len(asks) + len(free)}: {list(said.values())}")
    for kind, latencies in waited.items():
        if latencies:
            print(f"    {kind:5}: end of speech -> first answer sample median {statistics.median(latencies):.0f} ms "
                  f"(max {max(latencies)}, {len(latencies)} turns)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outside", action="store_true", help="audio from another process, known and free turns")
    parser.add_argument("--language", choices=["ko", "en"], default="ko", help="with --outside: the turns' language")
    args = parser.parse_args()
    if args.outside:
        outside(args.language)
        return
    hey = speech("hey jarvis", "en-us")
    parts = [1.0]
    for text in ASKS:
        parts += [hey, 0.7, speech(text, "ko+f3", 165), 6.0]
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "turns.wav", recording(*parts))
        result = subprocess.run([sys.executable, "-m", "speaker", "run", "--language", "ko", "--input", str(wav),
                                 "--realtime", "--output", str(Path(tmp) / "out.wav"), "--events-jsonl", "-"],
                                capture_output=True, cwd=ROOT, check=True)
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    latencies = [e["latency_ms"] for e in events if e.get("state") == "speaking" and "latency_ms" in e]
    intents = [e["name"] for e in events if e["type"] == "intent"]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"turns: {len(latencies)} (intents: {intents})")
    print(f"end of speech -> first answer sample: median {statistics.median(latencies):.0f} ms, "
          f"max {max(latencies)} ms (the silence that ended the sentence included)")
    print(f"daemon peak memory: {peak_mb:.0f} MB")
    first, held = say_latency()
    print(f"say of {len(LONG_SAY)} characters -> first sample: median {first * 1000:.0f} ms; "
          f"pipeline thread held at most {held * 1000:.0f} ms at a time")


if __name__ == "__main__":
    main()
