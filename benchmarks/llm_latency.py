"""Open-conversation latency: from the end of the user's text to the first sentence of the answer,
and to the first sample of its voice, on the language-model path beside the skill path.

    .venv/bin/python benchmarks/llm_latency.py [RUNS]

Starts the real llama.cpp server as the installed unit starts it (tests/llm_server.py: the unit's
ExecStart, the family's chat format, one thread) with the Gemma 3 270M model the tests use, asks it as the speaker does (streamed), and synthesises the
first sentence with the real voice. Prints medians over RUNS questions (default 7); the first
question, which fills the server's prompt cache, is shown apart.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from llm_server import ALIAS, LlmServer  # noqa: E402

from speaker.config import LlmSettings, Settings  # noqa: E402
from speaker.dialogue import Dialogue  # noqa: E402
from speaker.dialogue.llm import Chat  # noqa: E402
from speaker.voice import Voice, split_sentences  # noqa: E402

QUESTIONS = ["tell me something about the sea", "what do you think about rainy days", "do you like music",
             "what should I cook tonight", "I went for a walk today", "what is a good book to read",
             "do you ever get bored", "my friend is visiting tomorrow", "what makes a good day"]
SKILLS = ["what time is it", "thank you", "what's your name", "set a timer for 5 minutes", "how are you"]


def turn(dialogue: Dialogue, voice: Voice, text: str) -> tuple[float, float, bool]:
    """Seconds from the text to its first sentence and to that sentence's audio; whether the model wrote it."""
    started = time.monotonic()
    reply = dialogue.reply(text)
    if reply.stream is None:
        first = split_sentences(reply.text)[0]
        from_model = False
    else:
        first = next(iter(reply.stream))
        from_model = not reply.stream.events
        reply.stream.close()
    sentence_at = time.monotonic()
    voice.synthesize(first)
    return sentence_at - started, time.monotonic() - started, from_model


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    settings = Settings()
    voice = Voice(settings.voice, "en")
    with tempfile.TemporaryDirectory() as tmp:
        server = LlmServer.start(Path(tmp))  # as the installed unit starts it
        try:
            chat = Chat(LlmSettings(url=server.url, model=ALIAS, timeout_seconds=30, max_seconds=60))
            rows = {}
            llm = [turn(Dialogue("en", state_dir=Path(tmp), chat=chat), voice, q) for q in QUESTIONS[:runs + 1]]
            cold, warm = llm[0], llm[1:]
            skill = [turn(Dialogue("en", state_dir=Path(tmp), chat=chat), voice, q) for q in SKILLS]
        finally:
            server.stop()
            voice.close()
    rows["language model (first ask, cold cache)"] = ([cold[0]], [cold[1]], int(cold[2]), 1)
    rows[f"language model (median of {len(warm)})"] = ([r[0] for r in warm], [r[1] for r in warm],
                                                       sum(r[2] for r in warm), len(warm))
    rows[f"skill (median of {len(skill)})"] = ([r[0] for r in skill], [r[1] for r in skill], 0, 0)
    print("end of the user's text ->        first sentence   first voice sample   written by the model")
    for name, (sentences, samples, by_model, of) in rows.items():
        model = f"{by_model}/{of}" if of else "-"
        print(f"{name:<36} {statistics.median(sentences) * 1000:>8.0f} ms {statistics.median(samples) * 1000:>13.0f} ms"
              f"   {model:>10}")
    print("(the rest of the sentences: the gentle line, when the small model's text was not fit to say)")


if __name__ == "__main__":
    main()
