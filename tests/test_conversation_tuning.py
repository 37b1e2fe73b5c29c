"""The tuning conversation scripts (`data/conversations_tuning.yaml`), run as the frozen ones are: written
while the memory and the conversation's thread were built, so they guard what was tuned; the fair
measure is `test_conversation.py`'s frozen set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from speaker.dialogue import Dialogue
from test_conversation import SEEDS, converse, problems

DATA = yaml.safe_load((Path(__file__).parent / "data" / "conversations_tuning.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("script", DATA["scripts"], ids=[s["name"] for s in DATA["scripts"]])
def test_tuning_script(script, seed, tmp_path):
    answers = converse(script, seed, tmp_path)
    found = problems(script, answers, Dialogue(script["language"]).persona.lines["not_understood"])
    assert not found, "\n".join(found)
