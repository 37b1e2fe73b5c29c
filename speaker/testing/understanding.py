"""The phrase tables of the understanding tests and benchmark (`tests/data/understanding/`), and how a
reply is judged against them: the one place that says what "understood" means.

Three sets: `tuning` (written while the sentences and the meaning layer were tuned: it over-states),
`frozen` (written before the tuning of issue 19 and never edited since, but the meaning tables were
written with it in view) and `held_out` (written before any further tuning and never tuned on: the fair
measure of commands, feelings, affection, small talk and nonsense; frozen's memory and context scripts
stay the measure of those).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from speaker.dialogue import Dialogue, Reply

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "understanding"
SETS = ("tuning", "frozen", "held_out")
CATEGORIES = ("commands", "feelings", "affection", "small_talk", "memory", "context", "nonsense")
AFTERNOON = datetime(2026, 11, 27, 15, 5)
NEGATIVE_FEELINGS = {"lonely", "sad", "tired", "long_day", "stressed", "anxious", "bored", "missing", "sleepless"}


@functools.lru_cache(maxsize=4)
def load(name: str) -> dict:
    """One set: {"devices": [...], <language code>: {category: rows}, ...}."""
    with (DATA / f"{name}.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def understands(dialogue: Dialogue, text: str) -> bool:
    """Whether the dialogue's matcher finds an intent for `text` (no answer is given)."""
    return dialogue.matcher.recognize(text) is not None


def tone(reply: Reply) -> str | None:
    """The tone the reply answered in: "negative", "positive", or None (it answered no feeling)."""
    if reply.intent == "SpeakerFeeling":
        return "negative" if reply.slots.get("feeling", "sad") in NEGATIVE_FEELINGS else "positive"
    if reply.intent == "SpeakerTone":
        return reply.slots.get("tone")
    return None


@dataclass(frozen=True)
class Verdict:
    right: bool
    said: str  # what was said (the script's turns joined for a script)
    got: str  # what the speaker understood and answered, for the report


def new_dialogue(language: str, devices: tuple[str, ...], state_dir: Path | None = None) -> Dialogue:
    return Dialogue(language, clock=lambda: AFTERNOON, seed=0, devices=devices, state_dir=state_dir)


def judge(language: str, category: str, row, devices: tuple[str, ...], state_dir: Path | None = None) -> Verdict:
    """One row of a table, said to a new dialogue (with no language model), judged."""
    if isinstance(row, dict) or (isinstance(row, list) and row and isinstance(row[0], dict)):
        return _script(language, row, devices, state_dir)
    d = new_dialogue(language, devices, state_dir)
    if category == "nonsense":
        reply = d.reply(row)
        return Verdict(reply.intent is None, row, _got(reply))
    text, wanted, *rest = row
    reply = d.reply(text)
    if category == "feelings":
        return Verdict(tone(reply) == wanted, text, _got(reply))
    wanted = wanted if isinstance(wanted, list) else [wanted]
    slots = rest[0] if rest else {}
    right = reply.intent in wanted and all(reply.slots.get(k) == v for k, v in slots.items())
    return Verdict(right, text, _got(reply))


def _got(reply: Reply) -> str:
    return f"{reply.intent} {reply.slots or ''} {reply.text!r}".replace("  ", " ")


def _script(language: str, script, devices: tuple[str, ...], state_dir: Path | None) -> Verdict:
    turns = script["turns"] if isinstance(script, dict) else script
    distinct = script.get("distinct", 0) if isinstance(script, dict) else 0
    d = new_dialogue(language, devices, state_dir)
    said, varied, wrong = [], [], []
    for turn in turns:
        reply = d.reply(turn["say"])
        text = reply.text.lower()
        said.append(turn["say"])
        if turn.get("vary"):
            varied.append(reply.text)
        problems = [
            "contains" in turn and not any(w.lower() in text for w in turn["contains"]),
            any(w.lower() in text for w in turn.get("lacks", ())),
            turn.get("asks") and not reply.text.rstrip().endswith("?"),
            "intent" in turn and reply.intent != turn["intent"],
            turn.get("acts") and reply.command is None,
        ]
        if any(problems):
            wrong.append(f"{turn['say']!r} → {_got(reply)}")
    if distinct and (len(set(varied)) < distinct or any(a == b for a, b in zip(varied, varied[1:]))):
        wrong.append(f"{len(set(varied))} different answers: {varied}")
    return Verdict(not wrong, " / ".join(said), "; ".join(wrong))
