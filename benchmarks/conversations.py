"""Whole conversations (issue 19): the frozen multi-turn scripts (`tests/data/conversations.yaml`,
written before the memory and the conversation's thread were tuned: the fair measure) and the tuning
scripts (`tests/data/conversations_tuning.yaml`), typed turn by turn to the real dialogue with
several seeds. Prints, per set and language, the scripts that pass with every seed, and the turns and
script checks that pass over all seeds.

    python benchmarks/conversations.py [--seeds 5] [--verbose]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from speaker.dialogue import Dialogue  # noqa: E402
from test_conversation import converse, problems  # noqa: E402

SETS = {"frozen": ROOT / "tests/data/conversations.yaml", "tuning": ROOT / "tests/data/conversations_tuning.yaml"}


def run(path: Path, seeds: int, verbose: bool) -> dict[str, dict[str, int]]:
    """Per language: scripts, scripts passing every seed, and checked things (turns and script checks)
    with those that passed, over all seeds."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for script in yaml.safe_load(path.read_text(encoding="utf-8"))["scripts"]:
        language = script["language"]
        not_understood = Dialogue(language).persona.lines["not_understood"]
        passed_all = True
        for seed in range(seeds):
            with tempfile.TemporaryDirectory() as state:
                answers = converse(script, seed, Path(state))
            found = problems(script, answers, not_understood)
            checked = len(script["turns"]) + len(script.get("checks", []))
            failing = len({re.match(r"turn (\d+) ", f).group(1) if f.startswith("turn ") else f for f in found})
            counts[language]["checked"] += checked
            counts[language]["checked_passed"] += checked - min(failing, checked)
            if found:
                passed_all = False
                if verbose:
                    print(f"  [{language}] {script['name']} (seed {seed}):", *found, sep="\n    ")
        counts[language]["scripts"] += 1
        counts[language]["scripts_passed"] += passed_all
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="list every failing script and why")
    args = parser.parse_args()
    for name, path in SETS.items():
        for language, c in sorted(run(path, args.seeds, args.verbose).items()):
            print(f"[{language}] {name}: scripts passing every seed {c['scripts_passed']}/{c['scripts']}; "
                  f"turns and checks {c['checked_passed']}/{c['checked']} "
                  f"({100 * c['checked_passed'] / c['checked']:.1f}%) over {args.seeds} seeds")


if __name__ == "__main__":
    main()
