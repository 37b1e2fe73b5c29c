"""The voice: piper beside espeak-ng, and what an English user waits for.

    .venv/bin/python benchmarks/voice.py

For each engine, in a fresh process each: synthesis real-time factor (seconds of work per second of
speech, median over sentences), time to the first sample of a two-sentence answer, and the memory
(RSS) the voice adds once loaded. Then the real `speaker run --realtime` over English turns (piper-made
speech, pocketsphinx recognition when vosk's English model is absent): end of speech -> first answer
sample, as the `speaking` events report it (silence window included), median and worst, per engine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import natural_speech, recording, write_wav  # noqa: E402

SENTENCES = ["It's ten past three.", "Good night. Sleep well.", "I'm here whenever you want to talk.",
             "I can't see the sky from here, and I keep everything offline to keep your home private."]
ANSWER = "It's ten past three. Is there anything else I can do for you?"
ASKS = ["what time is it", "thank you", "good night", "what's your name", "hello", "stop"]

PROBE = """
import json, resource, statistics, sys, time
from speaker.config import VoiceSettings
from speaker.voice import Voice
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss()
voice = Voice(VoiceSettings(engine=sys.argv[1]), "en")
loaded = rss()
factors = []
for sentence in json.loads(sys.argv[2]):
    start = time.perf_counter(); samples = voice.synthesize(sentence)
    factors.append((time.perf_counter() - start) / (len(samples) / voice.rate))
firsts = []
for _ in range(5):
    start = time.perf_counter(); next(iter(voice.speak(sys.argv[3]))); firsts.append(time.perf_counter() - start)
print(json.dumps({"name": voice.name, "rtf": statistics.median(factors), "first_ms": 1000 * statistics.median(firsts),
                  "rss_mb": max(loaded, rss()) - before}))
"""


def probe(engine: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, engine, json.dumps(SENTENCES), ANSWER], cwd=ROOT,
                         capture_output=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout)


def latency(engine: str, tmp: Path) -> list[int]:
    hey = natural_speech("hey jarvis")
    parts = [1.0]
    for text in ASKS:
        parts += [hey, 0.6, natural_speech(text), 6.0]
    wav = write_wav(tmp / "turns.wav", recording(*parts))
    conf = tmp / f"{engine}.toml"
    conf.write_text(f'language = "en"\n[stt]\nmodels_dir = "{tmp / "models"}"\n[voice]\nengine = "{engine}"\n')
    result = subprocess.run([sys.executable, "-m", "speaker", "run", "--config", str(conf), "--input", str(wav),
                             "--realtime", "--output", str(tmp / "out.wav"), "--events-jsonl", "-"],
                            capture_output=True, cwd=ROOT, check=True)
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    return [e["latency_ms"] for e in events if e.get("state") == "speaking" and "latency_ms" in e]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("espeak", "auto"):  # auto: piper, with the best voice installed
            p = probe(engine)
            waits = latency(engine, Path(tmp))
            rows.append((p["name"], p["rtf"], p["first_ms"], p["rss_mb"], statistics.median(waits), max(waits), len(waits)))
    print(f"{'voice':28} {'RTF':>6} {'first sample':>13} {'RSS added':>10} {'speech end -> answer':>21}")
    for name, rtf, first, rss, median, worst, turns in rows:
        print(f"{name:28} {rtf:6.3f} {first:10.0f} ms {rss:7.0f} MB {median:8.0f} ms median, {worst} max ({turns} turns)")
    print("(the end-to-end figure includes the 0.4 s silence window; English recognised by pocketsphinx)")


if __name__ == "__main__":
    main()
