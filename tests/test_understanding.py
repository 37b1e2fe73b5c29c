"""Understanding the way people type: phrasings that are not in the sentence files, numbers as
people say them, near misses, and nonsense that must never become a command."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from speaker.dialogue import Dialogue, matcher_for
from speaker.dialogue.languages import en, get, ko
from speaker.dialogue.matcher import written_out

AFTERNOON = datetime(2026, 11, 27, 15, 5)
DEVICES = ("desk lamp", "heater", "책상 불", "히터")

# Phrasings written the way people type them; none of them is a sentence of the sentence files.
PHRASINGS = {
    "en": [
        ("yo what time is it", "HassGetCurrentTime", {}),
        ("can u tell me the time please", "HassGetCurrentTime", {}),
        ("waht time is it", "HassGetCurrentTime", {}),
        ("ok so what's the date today", "HassGetCurrentDate", {}),
        ("hey what day is tomorrow", "HassGetCurrentDate", {"day": "tomorrow"}),
        ("could you please set a timer for twenty minutes", "HassStartTimer", {"minutes": 20}),
        ("set a timer for half an hour please", "HassStartTimer", {"minutes": 30}),
        ("set a tea timer for four minutes please", "HassStartTimer", {"name": "tea", "minutes": 4}),
        ("set a timer for 90 secs", "HassStartTimer", {"seconds": 90}),
        ("please cancel my timer now", "HassCancelTimer", {}),
        ("cancel all of my timers please", "HassCancelAllTimers", {}),
        ("how much time is left on my timer please", "HassTimerStatus", {}),
        ("hey wake me up at six thirty", "SpeakerSetAlarm", {"hour": 6, "minute": 30}),
        ("set an alarm for 7:15 am please", "SpeakerSetAlarm", {"hour": 7, "minute": 15}),
        ("please cancel my alarms", "SpeakerCancelAlarm", {}),
        ("turn it up a little please", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("turn the volume down a little please", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("please set the volume to seventy five", "HassSetVolume", {"volume_level": 75}),
        ("mute the microphone please", "SpeakerMute", {}),
        ("oh never mind", "HassNevermind", {}),
        ("could you say that again please", "SpeakerRepeat", {}),
        ("please turn on the desk lamp", "HassTurnOn", {"device": "desk lamp"}),
        ("turn off the heater please", "HassTurnOff", {"device": "heater"}),
    ],
    "ko": [
        ("지금몇시야", "HassGetCurrentTime", {}),
        ("지금 몇 시인지 좀 알려 주세요", "HassGetCurrentTime", {}),
        ("오늘 무슨 요일 인지 알려줄래", "HassGetCurrentDate", {}),
        ("내일 무슨 요일인지 알려 줘요", "HassGetCurrentDate", {"day": "tomorrow"}),
        ("타이머 10분 맞춰 주세요", "HassStartTimer", {"minutes": 10}),
        ("십오 분 타이머 맞춰 줄래", "HassStartTimer", {"minutes": 15}),
        ("타이머 이십 분 맞춰줘요", "HassStartTimer", {"minutes": 20}),
        ("타이머 한 시간 맞춰 줘", "HassStartTimer", {"hours": 1}),
        ("계란 타이머 8분 맞춰 주세요", "HassStartTimer", {"name": "계란", "minutes": 8}),
        ("타이머좀 취소해 주세요", "HassCancelTimer", {}),
        ("타이머 전부 다 취소", "HassCancelAllTimers", {}),
        ("타이머 얼마나 남았는지 알려 줘", "HassTimerStatus", {}),
        ("알람 여덟 시에 맞춰 주세요", "SpeakerSetAlarm", {"hour": 8}),
        ("아침 6시 반에 깨워 줄래", "SpeakerSetAlarm", {"hour": 6, "minute": 30}),
        ("알람 좀 취소해 줘요", "SpeakerCancelAlarm", {}),
        ("소리 좀 키워 주세요", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("볼륨 좀 줄여 줄래", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("볼륨 40으로 해 주세요", "HassSetVolume", {"volume_level": 40}),
        ("음소거 좀 해 주세요", "SpeakerMute", {}),
        ("그만 해요", "HassNevermind", {}),
        ("다시 한번 말해 주세요", "SpeakerRepeat", {}),
        ("책상 불 좀 켜 주세요", "HassTurnOn", {"device": "책상 불"}),
        ("히터 꺼 줄래", "HassTurnOff", {"device": "히터"}),
    ],
}
NONSENSE = {
    "en": ["purple elephants calculate the refrigerator", "the timer of my soul is purple", "seven oranges dance",
           "cancel the purple elephants and the moon", "volcano spaghetti alarm clockwork", "asdf qwer zxcv"],
    "ko": ["파란 냉장고가 계산을 노래한다", "하늘색 타이머가 바다에서 수영한다", "코끼리 일곱 마리가 춤춘다",
           "볼륨이라는 이름의 고양이", "ㅁㄴㅇㄹ ㅋㅋㅋ", "알람시계는 사과를 먹지 않는다"],
}


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@pytest.mark.parametrize("language", ("en", "ko"))
def test_the_phrasings_are_not_sentences_of_the_sentence_files(language):
    """Otherwise the next test would measure nothing but the files."""
    written = {_plain(s) for s, _ in written_out(matcher_for(language, DEVICES).intents)}
    assert not [text for text, _, _ in PHRASINGS[language] if _plain(text) in written]


@pytest.mark.parametrize("language, text, intent, slots", [
    (language, text, intent, slots) for language, rows in PHRASINGS.items() for text, intent, slots in rows])
def test_phrasings_never_written_down_are_understood(language, text, intent, slots):
    reply = Dialogue(language, clock=lambda: AFTERNOON, seed=0, devices=DEVICES).reply(text)
    assert reply.intent == intent, text
    assert reply.slots.items() >= slots.items(), reply.slots


@pytest.mark.parametrize("language", ("en", "ko"))
def test_nonsense_is_never_forced_into_an_intent(language):
    d = Dialogue(language, seed=0, devices=DEVICES)
    understood = {text: r.intent for text in NONSENSE[language] if (r := d.reply(text)).intent is not None}
    assert understood == {}


@pytest.mark.parametrize("text, meant", [
    ("cancle the timer", {"HassCancelTimer", None}),  # a typo one letter from "cancel the timers" too
    ("set a timr for 5 minuts", {"HassStartTimer"}),
    ("turn the volum up", {"HassSetVolumeRelative"}),
    ("is an alarm set for tommorow", {"SpeakerAlarmStatus", None}),  # never "cancel the alarm for tomorrow"
])
def test_a_near_miss_is_understood_or_left_alone_never_taken_for_another_command(text, meant):
    assert Dialogue("en", seed=0).reply(text).intent in meant


def test_a_sentence_with_another_count_of_numbers_is_never_the_nearest():
    m = matcher_for("en")
    nearest = m.nearest("set a timer for 5 minutes and 30 seconds and 2 hours")
    assert nearest is None or len(re.findall(r"\d+", nearest.sentence)) == 3


@pytest.mark.parametrize("said, digits", [
    ("ten", "10"), ("10", "10"), ("twenty five", "25"), ("one hundred", "100"), ("ninety-nine", "99"),
    ("half an hour", "30 minutes"), ("an hour and a half", "1 hour 30 minutes"), ("a minute", "1 minute"),
    ("seven thirty", "7 30"), ("half past six", "6 30"), ("quarter to eight", "7 45"), ("6:45", "6 45"),
    ("fifty percent", "50 percent"), ("70%", "70 percent"),
])
def test_english_numbers_people_say(said, digits):
    assert en.numbers(said) == digits


@pytest.mark.parametrize("said, digits", [
    ("열", "10"), ("십", "10"), ("5분", "5분"), ("오 분", "5분"), ("오분", "5분"), ("30분", "30분"),
    ("삼십 분", "30분"), ("일곱 시 반", "7시 30분"), ("열두시", "12시"), ("한 시간 반", "1시간 30분"),
    ("스물다섯 분", "25분"), ("볼륨 오십", "볼륨 50"), ("이십오 초", "25초"), ("세 시간", "3시간"),
])
def test_korean_numbers_people_say(said, digits):
    assert ko.numbers(said) == digits


def test_korean_numbers_leave_words_that_only_look_like_them():
    assert ko.numbers("오늘 이름이 뭐야") == "오늘 이름이 뭐야"
    assert ko.numbers("세상 구경") == "세상 구경"


@pytest.mark.parametrize("variants", [
    ["타이머 맞춰줘", "타이머 맞춰 줘", "타이머 맞춰 주세요", "타이머 맞춰 줄래", "타이머좀 맞춰", "타이머를 맞춰요"],
    ["소리 키워 줘", "소리 좀 키워줘", "소리를 키워 주세요", "소리 키워줄래요"],
    ["타이머 취소해 줘", "타이머 취소해줘", "타이머 취소 해 줘", "타이머를 취소해", "타이머 취소"],
    ["오늘 무슨 요일이야", "오늘 무슨 요일 이에요", "오늘은 무슨 요일이에요", "오늘 무슨 요일이지"],
])
def test_korean_spacing_endings_and_particles_do_not_change_the_sentence(variants):
    m = matcher_for("ko")
    keys = [set(m.keys(text)) for text in variants]
    assert all(k & keys[0] for k in keys), [ko.normalise(v) for v in variants]


@pytest.mark.parametrize("variants", [
    ["What's the time?", "what is the time", "hey, what's the time please", "whats the time"],
    ["Can you turn it up?", "turn it up please", "could you please turn it up", "um turn it up"],
])
def test_english_case_punctuation_contractions_and_fillers_do_not_change_the_sentence(variants):
    assert len({en.normalise(v) for v in variants}) == 1, [en.normalise(v) for v in variants]


def test_tomorrow_is_told_as_tomorrow():
    for language, text, words in (("en", "what day is it tomorrow", "Saturday, November 28"),
                                  ("ko", "내일 무슨 요일이야", "11월 28일 토요일")):
        reply = Dialogue(language, clock=lambda: AFTERNOON, seed=0).reply(text)
        assert reply.intent == "HassGetCurrentDate" and words in reply.text, reply.text


@pytest.mark.parametrize("language, text, seconds", [
    ("en", "set a timer for half an hour", 1800), ("en", "set a timer for an hour and a half", 5400),
    ("ko", "타이머 오 분 맞춰 줘", 300), ("ko", "한 시간 반 타이머 맞춰 줘", 5400),
])
def test_a_timer_runs_for_the_time_said(language, text, seconds):
    d = Dialogue(language, clock=lambda: AFTERNOON, seed=0)
    assert d.reply(text).intent == "HassStartTimer"
    assert [t.seconds for t in d.memory.timers] == [seconds]


def test_every_language_module_says_the_same_things():
    names = {"normalise", "numbers", "compact", "spoken_time", "spoken_date", "spoken_duration", "describe_timer",
             "join", "day_word", "copula", "clean_name", "time_left", "time_on_day", "FREE_SPACING"}
    for language in ("en", "ko"):
        assert names <= set(dir(get(language))), language
