"""One registry of intents (speaker/dialogue/registry.py): every intent the sentence files and the
meaning tables name is declared there once, every declared intent can be said in every language, and
one answered by the persona's lines has lines."""

from __future__ import annotations

import pytest

from speaker.dialogue import Dialogue, languages, matcher_for, registry
from speaker.dialogue.companion import TONE
from speaker.dialogue.meaning import meanings_for
from speaker.dialogue.persona import builtin


@pytest.mark.parametrize("language", languages.NAMES)
def test_every_intent_the_sentences_and_meanings_name_is_registered(language):
    sentences = set(matcher_for(language).intents.intents)
    meanings = {s.intent for s in meanings_for(language).signatures}
    assert not (sentences | meanings) - set(registry.INTENTS)


@pytest.mark.parametrize("language", languages.NAMES)
def test_every_registered_intent_can_be_said_and_answered(language):
    sentences = set(matcher_for(language).intents.intents)
    assert set(registry.INTENTS) - sentences == {TONE}  # the tone is what no sentence claims
    persona = builtin(language)
    for name, intent in registry.INTENTS.items():
        assert intent.skill is not None or name in persona.lines, name


def test_what_acts_and_what_answers_is_declared_there():
    from speaker.dialogue.matcher import ACTS

    assert ACTS is registry.ACTS and {"HassStartTimer", "SpeakerMute", "SpeakerRemember"} <= ACTS
    assert registry.ANSWERS == {"SpeakerYes", "SpeakerNo"} and not ACTS & {"HassGetCurrentTime", "SpeakerFeeling"}


@pytest.mark.parametrize(("language", "text", "intent"), [
    ("en", "set a timer for five minutes", "HassStartTimer"), ("ko", "오분 타이머", "HassStartTimer"),
    ("en", "I love you", "SpeakerAffection"), ("ko", "사랑해", "SpeakerAffection"),
])
def test_a_registered_intent_is_answered_through_its_registration(language, text, intent):
    reply = Dialogue(language, seed=0).reply(text)
    assert reply.intent == intent and reply.text
