"""Dialogue: from the text the user said to the answer the speaker gives.

Sentences live in `sentences/<language>.yaml` (Home Assistant's hassil format) and are matched with
hassil; the lines the speaker says live in the persona file `personas/<language>.toml`. Skills fill
in what only code knows (the time, the date).
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from hassil import Intents, recognize, sample_intents

from . import skills

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Reply:
    """The outcome of one turn: what was understood and what to say."""

    intent: str | None
    slots: dict = field(default_factory=dict)
    text: str = ""


class Dialogue:
    """Understands sentences in one language and answers them in the persona's words."""

    def __init__(self, language: str, clock: Callable[[], datetime] = datetime.now, seed: int | None = None):
        self.language = language
        self.clock = clock
        with (HERE / "sentences" / f"{language}.yaml").open(encoding="utf-8") as f:
            self.intents = Intents.from_yaml(f)
        with (HERE / "personas" / f"{language}.toml").open("rb") as f:
            self.persona = tomllib.load(f)
        self._random = random.Random(seed)
        self._last_line: dict[str, str] = {}

    def phrases(self) -> list[str]:
        """Every sentence the dialogue understands, written out (to teach the speech recogniser)."""
        return sorted({" ".join(text.split()) for _intent, text in sample_intents(self.intents)})

    def understands(self, text: str) -> bool:
        return recognize(text, self.intents) is not None

    def reply(self, text: str) -> Reply:
        """Answer one sentence."""
        match = recognize(text, self.intents) if text.strip() else None
        if match is None:
            return Reply(None, {}, self.line("not_understood"))
        name = match.intent.name
        slots = {entity.name: entity.value for entity in match.entities_list}
        values = {"name": self.persona["name"], **skills.run(name, self.language, self.clock())}
        return Reply(name, slots, self.line(name, **values))

    def line(self, key: str, **values) -> str:
        """One of the persona's lines for `key`, not the same as last time."""
        lines = self.persona["lines"][key]
        choices = [line for line in lines if line != self._last_line.get(key)] or lines
        chosen = self._random.choice(choices)
        self._last_line[key] = chosen
        return chosen.format(**values)
