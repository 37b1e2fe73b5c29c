"""What is specific to one language, in one module per language (`en.py`, `ko.py`).

Each module gives the same functions, so a third language is one more module here and nothing else:
- `normalise(text)`: the canonical form used to compare what was said with the known sentences
  (case, punctuation, contractions, fillers, spacing, endings, particles), numbers as digits;
- `numbers(text)`: only the numbers people say ("ten", "half an hour", "오 분", "일곱 시 반") as digits;
- `compact(normalised)`: the string the fuzzy matcher compares (Korean: without spaces, in jamo);
- `spoken_time`, `spoken_date`, `spoken_duration`, `describe_timer`, `join`, `day_word`, `copula`:
  how the speaker says times, dates, lengths and lists.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

NAMES = ("en", "ko")


def get(language: str) -> ModuleType:
    """The module of `language` ("en", "ko")."""
    if language not in NAMES:
        raise ValueError(f"no language module for {language!r}")
    return import_module(f"{__name__}.{language}")


def units(seconds: int) -> list[tuple[int, str]]:
    """(count, unit) with a count: seconds only under an hour, and "0 seconds" for nothing."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, seconds = divmod(rest, 60)
    found = [(hours, "hour"), (minutes, "minute"), (0 if hours else seconds, "second")]
    return [(n, unit) for n, unit in found if n] or [(0, "second")]
