"""Whole conversations, typed turn by turn to the real dialogue: what it was told is recalled however
it is asked, what the user shared is come back to once, a lonely user is pointed to someone real,
the user's name comes up now and then, and one feeling said five ways is not met with one line.

The scripts are `data/conversations.yaml` (frozen: written before the companion was tuned on them)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from conftest import is_a_line
from speaker.dialogue import Dialogue

DATA = yaml.safe_load((Path(__file__).parent / "data" / "conversations.yaml").read_text(encoding="utf-8"))
CLOCK = datetime.fromisoformat(DATA["clock"])
SEEDS = range(5)  # each script must pass whatever the speaker happens to choose


def converse(script: dict, seed: int, state: Path) -> list[str]:
    """The speaker's answers to the script's turns, restarted where the script says."""
    d = None
    answers = []
    for turn in script["turns"]:
        if d is None or turn.get("restart"):
            d = Dialogue(script["language"], clock=lambda: CLOCK, seed=seed, state_dir=state)
        answers.append(d.reply(turn["say"]).text)
    return answers


def problems(script: dict, answers: list[str], not_understood: list[str]) -> list[str]:
    """What in `answers` breaks the script's rules (see the file's header)."""
    found = []
    for n, (turn, answer) in enumerate(zip(script["turns"], answers), 1):
        said, low = f"turn {n} {turn['say']!r} → {answer!r}", answer.lower()
        if is_a_line(answer, not_understood) or not answer:
            found.append(f"{said}: not understood")
        if n > 1 and answer == answers[n - 2]:
            found.append(f"{said}: the same as the answer before")
        found += [f"{said}: lacks {w!r}" for w in turn.get("has", []) if w.lower() not in low]
        if turn.get("any") and not any(w.lower() in low for w in turn["any"]):
            found.append(f"{said}: holds none of {turn['any']}")
        found += [f"{said}: holds {w!r}" for w in turn.get("not", []) if w.lower() in low]
    for check in script.get("checks", []):
        (kind, rule), = check.items()
        picked = [answers[n - 1] for n in rule["turns"]]
        if kind == "returns_once":
            back = [a for a in picked if any(w.lower() in a.lower() for w in rule["any"])]
            if len(back) != 1:
                found.append(f"came back to {rule['any']} {len(back)} times, not once: {picked}")
        elif kind == "varied":
            if len(set(picked)) < rule["distinct"]:
                found.append(f"only {len(set(picked))} different answers, not {rule['distinct']}: {picked}")
        elif kind == "name_sometimes":
            named = sum(rule["name"] in a for a in picked)
            if not 0 < named < len(picked):
                found.append(f"the name {rule['name']!r} in {named} of {len(picked)} answers: {picked}")
        else:
            raise ValueError(f"unknown check {kind!r}")
    return found


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("script", DATA["scripts"], ids=[s["name"] for s in DATA["scripts"]])
def test_conversation_script(script, seed, tmp_path):
    d = Dialogue(script["language"])
    answers = converse(script, seed, tmp_path)
    found = problems(script, answers, d.persona.lines["not_understood"])
    assert not found, "\n".join(found)
