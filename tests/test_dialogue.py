"""Dialogue: sentences understood in both languages, answers in the persona's words."""

from __future__ import annotations

import re
import subprocess
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from speaker.dialogue import Dialogue

DIALOGUE_DIR = Path(__file__).resolve().parent.parent / "speaker" / "dialogue"
LANGUAGES = ("en", "ko")
PIPELINE_LINES = ("not_understood", "no_speech", "needs_model")

PHRASINGS = {
    "en": {
        "HassGetCurrentTime": ["what time is it", "what time is it now", "what is the time", "tell me the time",
                               "give me the time", "do you know what time it is", "what's the time"],
        "HassGetCurrentDate": ["what is the date today", "what's the date", "what's today's date",
                               "what day is it", "what day is today", "what day of the week is it",
                               "tell me the date"],
        "SpeakerGreet": ["hello", "hi there", "hey", "good morning", "good evening", "how are you doing today"],
        "SpeakerThank": ["thank you", "thank you so much", "thanks", "thanks a lot"],
        "HassGetWeather": ["what's the weather like", "what is the weather today", "how is the weather"],
        "HassNevermind": ["never mind", "stop", "cancel", "forget it"],
        "SpeakerName": ["what's your name", "what is your name", "who are you"],
    },
    "ko": {
        "HassGetCurrentTime": ["지금 몇 시야", "몇 시야", "지금 시간 알려줘", "시간 알려줘"],
        "HassGetCurrentDate": ["오늘 며칠 이에요", "오늘 무슨 요일 이에요", "오늘 날짜 알려줘"],
        "SpeakerGreet": ["안녕", "안녕하세요", "반가워", "좋은 아침"],
        "SpeakerThank": ["고마워", "고맙습니다", "감사합니다"],
        "HassGetWeather": ["오늘 날씨 어때", "날씨 어때"],
        "HassNevermind": ["멈춰", "됐어", "그만"],
        "SpeakerName": ["이름이 뭐야"],
    },
}
NOT_UNDERSTOOD = {
    "en": ["play some music", "turn on the kitchen lights", "what time", "the", "hello hello hello hello"],
    "ko": ["노래 틀어줘", "불 켜줘", "시간", "오늘"],
}


def persona(language: str) -> dict:
    with (DIALOGUE_DIR / "personas" / f"{language}.toml").open("rb") as f:
        return tomllib.load(f)


def sentence_intents(language: str) -> list[str]:
    with (DIALOGUE_DIR / "sentences" / f"{language}.yaml").open(encoding="utf-8") as f:
        return list(yaml.safe_load(f)["intents"])


def at(*when) -> Dialogue:
    language, *rest = when
    return Dialogue(language, clock=lambda: datetime(*rest), seed=0)


# --- understanding -------------------------------------------------------------------------------

@pytest.mark.parametrize("language, intent, text", [
    (language, intent, text)
    for language, intents in PHRASINGS.items() for intent, texts in intents.items() for text in texts
])
def test_each_phrasing_is_understood(language, intent, text):
    reply = Dialogue(language, seed=0).reply(text)
    assert reply.intent == intent
    assert is_a_line(reply.text, persona(language)["lines"][intent])


def is_a_line(text: str, lines: list[str]) -> bool:
    """`text` is one of `lines`, with its {placeholders} filled in."""
    patterns = ["".join(".+" if i % 2 else re.escape(part) for i, part in enumerate(re.split(r"\{(\w+)\}", line)))
                for line in lines]
    return "{" not in text and any(re.fullmatch(p, text) for p in patterns)


def test_every_intent_in_the_sentence_files_is_tested():
    for language in LANGUAGES:
        assert set(sentence_intents(language)) == set(PHRASINGS[language])


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_sentences_are_not_understood(language):
    d = Dialogue(language, seed=0)
    lines = persona(language)["lines"]["not_understood"]
    for text in NOT_UNDERSTOOD[language] + ["", "   "]:
        reply = d.reply(text)
        assert reply.intent is None and reply.slots == {}
        assert reply.text in lines
        if text.strip():
            assert not d.understands(text)


def test_english_is_understood_whatever_the_capitals_and_punctuation():
    d = Dialogue("en", seed=0)
    assert d.reply("What time is it?").intent == "HassGetCurrentTime"
    assert d.reply("Thank you!").intent == "SpeakerThank"


# --- time and date -------------------------------------------------------------------------------

@pytest.mark.parametrize("when, words", [
    (("en", 2026, 11, 27, 15, 5), "3:05 PM"),
    (("en", 2026, 11, 27, 9, 30), "9:30 AM"),
    (("en", 2026, 11, 27, 0, 5), "12:05 AM"),
    (("en", 2026, 11, 27, 12, 45), "12:45 PM"),
    (("en", 2026, 11, 27, 15, 0), "3 o'clock"),
    (("en", 2026, 11, 27, 9, 0), "9 o'clock in the morning"),
    # Korean hours may be written as digits or as Koreans say them (세 시, 아홉 시)
    (("ko", 2026, 11, 27, 15, 5), "오후 (3|세) ?시 5분"),
    (("ko", 2026, 11, 27, 9, 30), "오전 (9|아홉) ?시 30분"),
    (("ko", 2026, 11, 27, 15, 0), "오후 (3|세) ?시"),
])
def test_the_time_is_told(when, words):
    d = at(*when)
    text = d.reply(PHRASINGS[when[0]]["HassGetCurrentTime"][0]).text
    assert re.search(words, text), text
    if when[-1] == 0:
        assert "0분" not in text and ":00" not in text
    if when[0] == "en" and when[-2] >= 12:
        assert "morning" not in text


@pytest.mark.parametrize("when, words", [
    (("en", 2026, 11, 27, 15, 5), "Friday, November 27"),
    (("en", 2027, 1, 1, 8, 0), "Friday, January 1"),
    (("en", 2028, 2, 29, 8, 0), "Tuesday, February 29"),
    (("ko", 2026, 11, 27, 15, 5), "11월 27일 금요일"),
    (("ko", 2026, 3, 1, 8, 0), "3월 1일 일요일"),
])
def test_the_date_is_told(when, words):
    d = at(*when)
    for text in PHRASINGS[when[0]]["HassGetCurrentDate"]:
        assert words in d.reply(text).text


def test_the_clock_is_read_at_each_question():
    times = iter([datetime(2026, 11, 27, 15, 5), datetime(2026, 11, 27, 15, 6)])
    d = Dialogue("en", clock=lambda: next(times), seed=0)
    assert "3:05 PM" in d.reply("what time is it").text
    assert "3:06 PM" in d.reply("what time is it").text


def test_the_persona_says_its_name():
    assert "Samantha" in Dialogue("en", seed=0).reply("what's your name").text
    assert "사만다" in Dialogue("ko", seed=0).reply("이름이 뭐야").text


def test_korean_oclock_answers_are_grammatical():
    d = at("ko", 2026, 11, 27, 15, 0)
    for _ in range(12):
        text = d.reply("지금 몇 시야").text
        assert "시이" not in text, text


def test_the_korean_hour_is_spoken_the_way_koreans_say_it():
    d = at("ko", 2026, 11, 27, 15, 5)
    text = d.reply("지금 몇 시야").text
    phonemes = subprocess.run(["espeak-ng", "-v", "ko", "-q", "-x", text], check=True, capture_output=True,
                              text=True).stdout
    assert "s'am" not in phonemes and re.search(r"s'e ?s'?i", phonemes), phonemes  # 세 시, not 삼 시


# --- the persona's lines -------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reply_never_repeats_the_line_just_said(language):
    d = Dialogue(language, clock=lambda: datetime(2026, 11, 27, 15, 5), seed=3)
    for intent, texts in PHRASINGS[language].items():
        if len(persona(language)["lines"][intent]) < 2:
            continue
        said = [d.reply(texts[i % len(texts)]).text for i in range(60)]
        assert all(a != b for a, b in zip(said, said[1:])), intent
        assert len(set(said)) == len(persona(language)["lines"][intent])  # and every line gets its turn
    for key in PIPELINE_LINES:
        said = [d.line(key) for _ in range(30)]
        if len(persona(language)["lines"][key]) > 1:
            assert all(a != b for a, b in zip(said, said[1:])), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_line_the_pipeline_says_exists_in_both_personas(language):
    lines = persona(language)["lines"]
    d = Dialogue(language, seed=0)
    for key in PIPELINE_LINES:
        assert lines.get(key), f"{language} persona has no {key} lines"
        assert d.line(key) in lines[key]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_intent_has_persona_lines(language):
    lines = persona(language)["lines"]
    for intent in sentence_intents(language):
        assert lines.get(intent), f"{language} persona has no lines for {intent}"
        assert all(isinstance(line, str) and line.strip() for line in lines[intent])


def test_both_languages_know_the_same_intents_and_lines():
    assert set(sentence_intents("en")) == set(sentence_intents("ko"))
    assert set(persona("en")["lines"]) == set(persona("ko")["lines"])


# --- phrases (the speech recogniser's grammar) ---------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_phrases_are_normalised_and_all_understood(language):
    d = Dialogue(language, seed=0)
    phrases = d.phrases()
    assert phrases == sorted(set(phrases))
    assert all(p == " ".join(p.split()) and p for p in phrases)
    assert all(d.understands(p) for p in phrases)
    for texts in PHRASINGS[language].values():  # every phrasing tested above is in the grammar
        assert set(texts) <= set(phrases)


def test_phrases_expand_optional_words():
    phrases = Dialogue("ko", seed=0).phrases()
    assert "몇 시야" in phrases and "지금 몇 시야" in phrases and " 몇 시야" not in phrases
