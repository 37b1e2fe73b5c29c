"""Answer latency: from the end of the user's speech to the first sample of the answer.

    .venv/bin/python benchmarks/latency.py

Runs the real `speaker run --realtime` (paced like a live microphone) over several Korean turns and
prints the `latency_ms` the speaking events report (silence window + recognition + answer +
first synthesised sentence), median and worst, plus the daemon's peak memory.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import recording, speech, write_wav  # noqa: E402

ASKS = ["지금 몇 시야", "오늘 날씨 어때", "이름이 뭐야", "고마워", "오늘 무슨 요일이에요", "멈춰"]


def main() -> None:
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
          f"max {max(latencies)} ms (silence window 0.4 s included)")
    print(f"daemon peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
