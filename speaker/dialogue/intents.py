"""The sentences the speaker understands: Home Assistant's own (home-assistant-intents) for the
intents a sentence file names under `home_assistant.intents`, plus the file's own sentences.

Every sentence is understood when typed. Only some teach the speech recogniser (`phrases`): not
those with free text (wildcards), which cannot be written out, nor blocks marked
`metadata: {speech: false}` (each extra word in the grammar is one more word anything can be heard as). A number range
is written out in the words that say each number (`said_numbers` of the language).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import yaml
from hassil import Intents, RangeSlotList, TextSlotList
from hassil.sample import sample_sentence
from hassil.util import merge_dict
from home_assistant_intents import get_intents

REUSE_KEY = "home_assistant"
_LIST = re.compile(r"\{(\w+)(?::\w+)?\}")
_RULE = re.compile(r"<(\w+)>")
_UNUSABLE_SLOTS = {"conversation_command"}  # a command to run later: Home Assistant's, not ours


def load(files: list[Path]) -> Intents:
    """Merge sentence files (later ones add to earlier ones) over the Home Assistant intents they reuse."""
    merged: dict = {}
    for path in files:
        with path.open(encoding="utf-8") as f:
            own = yaml.safe_load(f) or {}
        reused = own.pop(REUSE_KEY, {})
        if reused:
            language = own.get("language") or merged.get("language")
            merge_dict(merged, home_assistant(language, reused["intents"], reused.get("speech", True)))
        merge_dict(merged, own)
    return Intents.from_dict(merged)


def home_assistant(language: str, names: list[str], speech: bool = True) -> dict:
    """The named intents from home-assistant-intents, keeping only sentences that need nothing from a
    Home Assistant installation (areas, device names, floors, delayed commands)."""
    data = get_intents(language) or {}
    lists, rules = data.get("lists", {}), data.get("expansion_rules", {})

    def lists_used(text: str, seen: frozenset = frozenset()) -> set[str]:
        used = {m.group(1) for m in _LIST.finditer(text)}
        for rule in set(_RULE.findall(text)) - seen:
            used |= lists_used(rules.get(rule, ""), seen | {rule})
        return used

    intents = {}
    for name in names:
        if name not in data.get("intents", {}):
            raise ValueError(f"home-assistant-intents has no {name} for {language!r}")
        kept = []
        for block in data["intents"][name]["data"]:
            used = set().union(*(lists_used(s) for s in block["sentences"]))
            slots = {m.group(0).strip("{}").split(":")[-1] for s in block["sentences"] for m in _LIST.finditer(s)}
            if used <= set(lists) and not slots & _UNUSABLE_SLOTS:
                kept.append({"sentences": block["sentences"], "slots": block.get("slots", {}),
                             "metadata": {"speech": speech}})
        intents[name] = {"data": kept}
    return {"language": language, "intents": intents, "lists": dict(lists), "expansion_rules": dict(rules),
            "skip_words": list(data.get("skip_words", []))}


def phrases(intents: Intents, only: frozenset[str] | None = None, *,
            said_numbers: Callable[[str], str] | None = None) -> list[str]:
    """Every sentence meant for speech, written out in words (lists expanded); with `only`, every
    sentence of those intents, those for typing only too (a grammar of a few expected answers may
    hold the short words that a whole grammar would hear in everything). With `said_numbers` (digits
    as the language says them), sentences with number ranges too: each range in full, said in words,
    the other ranges of the sentence at their first value (a grammar learns pairs of words, so every
    number is heard beside its neighbours without writing out every combination)."""
    found = set()
    for name, intent in intents.intents.items():
        if only is not None and name not in only:
            continue
        for data in intent.data:
            if only is None and (data.metadata or {}).get("speech") is False:
                continue
            rules = {**intents.expansion_rules, **data.expansion_rules}
            lists = {**intents.slot_lists, **data.slot_lists}
            for sentence in data.sentences:
                names = set(sentence.list_names(rules))
                if names & data.wildcard_list_names or any(_empty(lists.get(n)) for n in names):
                    continue
                ranges = sorted(n for n in names if isinstance(lists.get(n), RangeSlotList))
                if ranges and said_numbers is None:
                    continue
                for varied in ranges or [None]:
                    fixed = {n: _range_values(lists[n], all_values=n == varied) for n in ranges}
                    texts = sample_sentence(sentence, {**lists, **fixed}, rules, language=intents.language,
                                            expand_ranges=False)
                    found.update(" ".join((said_numbers or str)(t).split()) for t in texts if "{" not in t)
    return sorted(found)


def _range_values(numbers: RangeSlotList, *, all_values: bool) -> TextSlotList:
    """A number range as a list of its numbers in digits (all of them, or the first)."""
    values = range(numbers.start, numbers.stop + 1, numbers.step) if all_values else [numbers.start]
    return TextSlotList.from_tuples([(str(v), v) for v in values], name=numbers.name)


def _empty(slot_list) -> bool:
    """A text list with no values (no [[mqtt.devices]] configured): nothing to write out."""
    return isinstance(slot_list, TextSlotList) and not slot_list.values
