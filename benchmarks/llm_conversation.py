"""Open conversation on the frozen companion lines (tests/data/llm_lines_{en,ko}.txt, written before
any tuning): per language, how many answers are in the model's own words, how many end in the
gentle fallback line, how many sentences the guard cut (and that none of them was spoken), and the
first-sentence latency from the end of the user's text.

    .venv/bin/python benchmarks/llm_conversation.py [LINES_PER_LANGUAGE]

The server is the real llama.cpp server with Gemma 3 270M, started exactly as the installed unit
starts it (tests/llm_server.py runs the unit's ExecStart line), one thread.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from llm_server import ALIAS, LlmServer  # noqa: E402

from speaker.config import LlmSettings  # noqa: E402
from speaker.dialogue import Dialogue, languages  # noqa: E402
from speaker.dialogue.llm import Chat, unsafe  # noqa: E402


def frozen_lines(language: str) -> list[str]:
    text = (ROOT / "tests" / "data" / f"llm_lines_{language}.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def run(language: str, chat: Chat, lines: list[str], tmp: Path) -> None:
    kinds: Counter = Counter()
    firsts: list[float] = []
    unsafe_spoken = 0
    module = languages.get(language)
    for n, line in enumerate(lines):
        dialogue = Dialogue(language, seed=n, state_dir=tmp / f"{language}{n}", chat=chat)
        started = time.monotonic()
        reply = dialogue.reply(line)
        if reply.stream is None:
            kinds["a skill answered"] += 1
            continue
        spoken = []
        for sentence in reply.stream:
            if not spoken:
                firsts.append(time.monotonic() - started)
            spoken.append(sentence)
        codes = [e["code"] for _, e in reply.stream.events]
        persona_lines = set(dialogue.persona.choices("llm_cut", "evening")) | set(
            dialogue.persona.choices("llm_failed", "evening"))
        unsafe_spoken += sum(bool(unsafe(s, module)) for s in spoken if s not in persona_lines)
        own = [s for s in spoken if s not in persona_lines]
        kind = ("own words" if own and not codes else "own words, then cut (llm_unsafe)" if own
                else f"fallback ({', '.join(codes)})")
        kinds[kind] += 1
        print(f"  {language} {line!r} -> {' '.join(spoken)!r} {codes}", file=sys.stderr)
    asked = sum(kinds.values()) - kinds["a skill answered"]
    own = kinds["own words"] + kinds["own words, then cut (llm_unsafe)"]
    print(f"{language}: {len(lines)} lines, {asked} went to the model; own words in {own}/{asked}"
          f" ({own / max(asked, 1):.0%}); unsafe sentences spoken: {unsafe_spoken}")
    for kind, count in kinds.most_common():
        print(f"    {count:>3}  {kind}")
    if firsts:
        print(f"    first sentence: median {statistics.median(firsts) * 1000:.0f} ms over {len(firsts)}")


def main() -> None:
    most = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with tempfile.TemporaryDirectory() as tmp:
        server = LlmServer.start(Path(tmp))
        try:
            chat = Chat(LlmSettings(url=server.url, model=ALIAS, timeout_seconds=30, max_seconds=60))
            for language in ("en", "ko"):
                lines = frozen_lines(language)
                run(language, chat, lines[:most] if most else lines, Path(tmp))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
