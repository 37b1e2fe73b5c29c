"""Everything specific to a language lives in speaker/dialogue/languages/ (and the config loader, which
names the settings of each language): no other module asks which language it speaks, and every
language module gives all that the `Language` protocol lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from speaker.dialogue import languages
from speaker.dialogue.languages import Language

PACKAGE = Path(__file__).resolve().parent.parent / "speaker"
ALLOWED = (PACKAGE / "dialogue" / "languages", PACKAGE / "config.py")
CODES = "|".join(languages.NAMES)
LITERAL = rf"""["'](?:{CODES})["']"""  # "en", 'ko'
BRANCH = re.compile(  # a test of the language, a table keyed by it, or one language's module named outside its place
    rf"(?:==|!=)\s*{LITERAL}|{LITERAL}\s*(?:==|!=)|\bin\s*[(\[{{]\s*{LITERAL}|{LITERAL}\s*[:\]]"
    rf"|\blanguages\s+import\s+(?:{CODES})\b|\blanguages\.(?:{CODES})\b")


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not any(p == a or a in p.parents for a in ALLOWED)]


def test_no_module_outside_the_languages_asks_which_language_it_speaks():
    found = [f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
             for path in _sources() for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if BRANCH.search(line.split("#")[0])]
    assert not found, "language branches outside dialogue/languages/:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ['if language == "ko":', "if 'en' == lang:", 'STOP = {"en": 1}',
                                  'if settings.language != "en":', 'WORDS["ko"]', "from .languages import ko",
                                  'if language in ("en", "ko"):'])
def test_the_scan_finds_a_branch(line):
    assert BRANCH.search(line)


@pytest.mark.parametrize("line", ['self.lang = languages.get(language)', 'language: str = ""',
                                  'f"stt.{language}_model"', 'lang.STOP_SPOTTER == "grammar"',
                                  "if persona.language != language:"])  # the persona's and the speaker's: one
def test_the_scan_lets_a_language_passed_along_be(line):
    assert not BRANCH.search(line)


@pytest.mark.parametrize("code", languages.NAMES)
def test_each_language_gives_all_the_protocol_lists(code):
    module = languages.get(code)
    wanted = set(Language.__annotations__) | {
        name for name, value in vars(Language).items() if callable(value) and not name.startswith("_")}
    missing = sorted(name for name in wanted if not hasattr(module, name))
    assert not missing, f"{code}: {missing}"
    assert module.CODE == code
    assert set(module.STOP_PHRASES) and module.STOP_SPOTTER in ("keywords", "grammar")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no language module"):
        languages.get("fr")
