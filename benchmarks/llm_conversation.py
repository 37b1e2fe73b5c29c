"""Open conversation on companion lines, per language and per set: how many answers are in the
model's own words, how many end in the persona's line (a cut or the gentle fallback), how many
sentences the guard cut (and that none of them was spoken), and the first-sentence latency from the
end of the user's text.

    .venv/bin/python benchmarks/llm_conversation.py [frozen|tuning|heldout|fresh|both|all] [LINES_PER_LANGUAGE]

The frozen set (tests/data/llm_lines_{en,ko}.txt and llm_lines_more_{en,ko}.txt) was written
before any tuning and is never edited; the tuning set (tests/data/llm_tuning_{en,ko}.txt) is what
the prompt, the chat examples and the guard were tuned on. The guard's later rules were written
after reading the frozen set's answers, so the held-out set (tests/data/llm_heldout_{en,ko}.txt,
written after the guard's last change and before anything was measured on it) is the fair one; its
answers were read for the guard's next rules too, so a second held-out set (llm_fresh_{en,ko}.txt,
written before those rules were measured on anything) is the fair one after them.
Report them side by side ("both": frozen and tuning; "all": the four).

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
from speaker.events import Error  # noqa: E402

SETS = {"frozen": ("llm_lines_{}.txt", "llm_lines_more_{}.txt"), "tuning": ("llm_tuning_{}.txt",),
        "heldout": ("llm_heldout_{}.txt",), "fresh": ("llm_fresh_{}.txt",)}


def lines_of(name: str, language: str) -> list[str]:
    files = [ROOT / "tests" / "data" / pattern.format(language) for pattern in SETS[name]]
    return [line.strip() for file in files for line in file.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def run(language: str, chat: Chat, lines: list[str], tmp: Path) -> dict:
    """Each line said to a new dialogue; what was spoken for it, sorted."""
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
        codes = [e.code for e in reply.stream.events if isinstance(e, Error)]
        if "llm_unavailable" in codes:
            raise SystemExit(f"the server went away: {reply.stream.events}")
        persona_lines = set(dialogue.persona.choices("llm_cut", "evening")) | set(
            dialogue.persona.choices("llm_failed", "evening"))
        unsafe_spoken += sum(bool(unsafe(s, module)) for s in spoken if s not in persona_lines)
        own = [s for s in spoken if s not in persona_lines]
        kind = ("own words" if own and not codes else "own words, then cut (llm_unsafe)" if own
                else f"persona's line ({', '.join(codes)})")
        kinds[kind] += 1
        print(f"  {language} {line!r} -> {' '.join(spoken)!r} {codes}", file=sys.stderr)
    asked = len(lines) - kinds["a skill answered"]
    own = kinds["own words"] + kinds["own words, then cut (llm_unsafe)"]
    return {"lines": len(lines), "asked": asked, "own": own, "unsafe_spoken": unsafe_spoken, "kinds": kinds,
            "first": statistics.median(firsts) if firsts else None}


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    most = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    names = {"both": ["frozen", "tuning"], "all": list(SETS)}.get(which, [which])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = LlmServer.start(Path(tmp))
        try:
            chat = Chat(LlmSettings(url=server.url, model=ALIAS, timeout_seconds=30, max_seconds=60))
            for name in names:
                for language in ("en", "ko"):
                    lines = lines_of(name, language)
                    results[name, language] = run(language, chat, lines[:most] if most else lines, Path(tmp))
        finally:
            server.stop()
    print("set     lang  lines  to the model  own words        unsafe spoken  first sentence (median)")
    for (name, language), r in results.items():
        first = f"{r['first'] * 1000:.0f} ms" if r["first"] is not None else "-"
        print(f"{name:<7} {language:<4} {r['lines']:>6} {r['asked']:>13}  {r['own']:>3}/{r['asked']:<3} ({r['own'] / max(r['asked'], 1):>4.0%})"
              f" {r['unsafe_spoken']:>14}  {first:>10}")
        for kind, count in r["kinds"].most_common():
            print(f"{'':>19}{count:>3}  {kind}")


if __name__ == "__main__":
    main()
