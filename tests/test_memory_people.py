"""What the speaker knows about the people in your life, and the thread of one conversation: facts kept
as knowledge survive a restart (and an older state file still loads), a pronoun with nobody to mean is
not guessed at, Korean is said back with the particle and ending each word takes, what you shared is
come back to once however many chances there are, and your name comes up now and then, never twice
in a row."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from conftest import is_a_line
from speaker.dialogue import Dialogue, Reply
from speaker.dialogue.languages import ko
from speaker.dialogue.memory import FILE

EVENING = datetime(2026, 12, 4, 20, 0)


def speaker(language, state=None, seed=0) -> Dialogue:
    return Dialogue(language, clock=lambda: EVENING, seed=seed, state_dir=state)


def conversation(language, *said) -> list[Reply]:
    """What a fresh speaker answers to each of `said` in turn."""
    d = speaker(language)
    return [d.reply(s) for s in said]


def not_understood(d: Dialogue, text: str) -> bool:
    return is_a_line(text, d.persona.lines["not_understood"])


@pytest.mark.parametrize("said, polite", [
    ("수아야", "수아예요"), ("지은이야", "지은이에요"), ("금요일", "금요일이에요"), ("서랍에 있어", "서랍에 있어요"),
    ("이사 가", "이사 가요"), ("일한다", "일해요"), ("먹는다", "먹어요"), ("부산에 살아", "부산에 살아요"),
    ("우리 집 개", "우리 집 개예요"), ("회의였어", "회의였어요"), ("수요일이었어", "수요일이었어요"), ("좋아요", "좋아요"),
])
def test_korean_endings_are_chosen_by_the_word(said, polite):
    assert ko.polite(said) == polite


def test_korean_particles_are_chosen_by_the_word():
    assert [ko.object_particle(w) for w in ("딸기", "사과", "책", "공룡")] == ["를", "를", "을", "을"]
    assert [ko.direction_particle(w) for w in ("부산", "서울", "대구", "집")] == ["으로", "로", "로", "으로"]
    assert [ko.polite_verb(s) for s in ("가", "일하", "살", "마시", "오", "쓰")] == \
        ["가요", "일해요", "살아요", "마셔요", "와요", "써요"]


@pytest.mark.parametrize("language, tell, ask, answer", [
    ("en", "my sister works at the library", "where does my sister work", "library"),
    ("ko", "우리 누나는 도서관에서 일해", "누나 어디서 일해?", "도서관에서 일해요"),
])
def test_what_is_known_about_someone_survives_a_restart(language, tell, ask, answer, tmp_path):
    speaker(language, tmp_path).reply(tell)
    assert answer in speaker(language, tmp_path, seed=1).reply(ask).text


def test_a_state_file_from_before_knowledge_still_loads_and_answers(tmp_path):
    (tmp_path / FILE).write_text(json.dumps({
        "user_name": "", "facts": [{"subject": "mom's birthday", "text": "your mom's birthday is on March 3"}],
        "people": [{"name": "", "relation": "mom"}], "timers": [], "alarms": [], "last": None}), encoding="utf-8")
    d = speaker("en", tmp_path)
    reply = d.reply("tell me about my mom")
    assert "March 3" in reply.text and not reply.events


@pytest.mark.parametrize("language, ask", [("en", "where does he work"), ("en", "who is Samantha"),
                                           ("ko", "걔 어디서 일해?")])
def test_a_question_about_nobody_known_is_not_answered_with_someone(language, ask):
    d = speaker(language)
    assert d.reply(ask).intent != "SpeakerRecall"


def test_a_question_without_a_subject_long_after_anyone_was_talked_about_is_not_about_them(tmp_path):
    d = speaker("ko", tmp_path)
    d.reply("형은 서울에 살아")
    assert "서울" in d.reply("어디 살아?").text
    for said in ("지금 몇 시야", "농담 해 줘", "안녕", "잘 지내?"):
        d.reply(said)
    assert "서울" not in d.reply("어디 살아?").text


@pytest.mark.parametrize("language, tell, forget, ask", [
    ("en", "my friend Tom works at Google", "forget about Tom", "where does Tom work"),
    ("ko", "내 친구 민수는 서울에 살아", "민수 잊어 줘", "민수 어디 살아?"),
])
def test_forgetting_someone_forgets_what_was_known_about_them(language, tell, forget, ask, tmp_path):
    d = speaker(language, tmp_path)
    d.reply(tell)
    d.reply(forget)
    answer = d.reply(ask).text
    assert "Google" not in answer and "서울" not in answer


@pytest.mark.parametrize("language, share, greetings, topic", [
    ("en", "I'm worried about my exam", ["hello", "how are you", "good evening", "hi", "can we talk", "good night"],
     "exam"),
    ("ko", "시험 때문에 너무 불안해", ["안녕", "잘 지내?", "안녕하세요", "나랑 얘기하자", "잘 자"], "시험"),
])
def test_what_was_shared_is_come_back_to_once_however_many_chances(language, share, greetings, topic):
    for seed in range(3):
        d = speaker(language, seed=seed)
        d.reply(share)
        answers = [d.reply(g).text for g in greetings]
        assert sum(topic in a for a in answers) == 1, answers


@pytest.mark.parametrize("language, name, turns", [
    ("en", "Alex", ["my name is Alex"] + ["hello", "good night", "I'm sad", "how are you", "thank you", "I'm tired"] * 3),
    ("ko", "지영", ["내 이름은 지영이야"] + ["안녕", "잘 자", "슬퍼", "잘 지내?", "고마워", "피곤해"] * 3),
])
def test_the_name_comes_up_now_and_then_never_twice_in_a_row(language, name, turns):
    d = speaker(language)
    named = [name in d.reply(t).text for t in turns]
    assert not any(a and b for a, b in zip(named, named[1:])), named
    assert sum(named[1:]) >= 3, named  # not only when it was told


@pytest.mark.parametrize("language, tell, check, ask, kept, not_kept", [
    ("en", "my brother works in Daegu", "does my brother work in Seoul?", "where does he work", "Daegu", "Seoul"),
    ("ko", "형은 대구에서 일해", "형 서울에서 일해?", "형 어디서 일해?", "대구", "서울"),
])
def test_a_yes_or_no_question_is_answered_with_what_is_known_and_changes_nothing(language, tell, check, ask, kept,
                                                                                 not_kept):
    d = speaker(language)
    d.reply(tell)
    assert kept in d.reply(check).text
    answer = d.reply(ask).text
    assert kept in answer and not_kept not in answer


@pytest.mark.parametrize("language, said", [("en", "Nothing works in this house"), ("en", "Samantha lives in the speaker"),
                                            ("en", "he works in Daegu"), ("ko", "사만다는 스피커에 살아"),
                                            ("en", "I love you"), ("en", "I like it here")])
def test_what_is_about_nobody_in_your_life_is_not_kept_as_someone(language, said):
    d = speaker(language)
    d.reply(said)
    assert not d.memory.people and not d.memory.facts


@pytest.mark.parametrize("language, tell, ask, answer, not_told", [
    ("en", "I'm moving to Busan next month", "when am I moving", "you're moving to busan next month", "where do I work"),
    ("ko", "나는 서울에 살아", "내가 어디 산다고 했지?", "서울에 살아요", "나 어디서 일해?"),
])
def test_what_you_say_of_yourself_is_kept_apart_from_the_people_you_know(language, tell, ask, answer, not_told,
                                                                         tmp_path):
    d = speaker(language, tmp_path)
    d.reply(tell)
    assert not d.memory.people
    assert answer in speaker(language, tmp_path, seed=1).reply(ask).text.lower()
    unknown = d.reply(not_told)
    assert unknown.intent == "SpeakerRecall" and "Busan" not in unknown.text and "서울" not in unknown.text


@pytest.mark.parametrize("language, ask", [("en", "what's my name"), ("ko", "내 이름 뭐야?"), ("ko", "내가 누구게?")])
def test_asked_a_name_it_was_never_told_it_asks_for_it(language, ask):
    d = speaker(language)
    reply = d.reply(ask)
    assert is_a_line(reply.text, d.persona.lines["name_unknown"]) and reply.follow_up


def test_someone_named_with_is_called_is_met_by_name():
    _, asked, lonely = conversation("en", "my best friend is called Tom", "who is my best friend",
                                    "I feel so lonely tonight")
    assert "Tom" in asked.text and "Tom" in lonely.text


@pytest.mark.parametrize("language, share, greeting, topic", [
    ("en", "my husband walked out on me and we split up", "hello", "break-up"),
    ("en", "the deadline at work is crushing me and my manager shouted at me", "good night", "work"),
    ("ko", "남친이랑 헤어졌어", "안녕", "이별"),
    ("ko", "상사한테 깨졌어", "잘 자", "회사"),
])
def test_a_feeling_understood_by_its_meaning_is_come_back_to_by_what_it_was_about(language, share, greeting, topic):
    shared, greeted, greeted_again = conversation(language, share, greeting, greeting)
    assert shared.intent == "SpeakerFeeling"
    assert topic in greeted.text and topic not in greeted_again.text  # once


@pytest.mark.parametrize("tell, ask, name", [
    ("내 여자친구는 서연이야", "여친이 누구야?", "서연"), ("우리 형은 도윤이야", "형 이름이 뭐였지?", "도윤"),
])
def test_a_korean_relation_said_to_be_someone_is_met_by_that_name(tell, ask, name):
    told, asked, lonely = conversation("ko", tell, ask, "오늘 좀 외로워")
    assert name in told.text and name in asked.text
    assert name in lonely.text  # the first lonely turn points to them


@pytest.mark.parametrize("tell", ["내 동생은 학생이야", "우리 형은 회사원이야"])
def test_what_someone_is_is_not_taken_for_their_name(tell):
    d = speaker("ko")
    d.reply(tell)
    assert all(not p.name for p in d.memory.people)


@pytest.mark.parametrize("language, tell, ask, answer", [
    ("en", "I have a vet appointment on Friday", "when do I need to see the vet", "Friday"),
    ("en", "my haircut is on Saturday", "what day is my haircut", "Saturday"),
    ("ko", "토요일에 미용실 예약 있어", "미용실 언제 가야 돼?", "토요일"),
    ("ko", "다음 주 월요일에 회의 있어", "회의 언제 있지?", "월요일"),
])
def test_a_date_told_is_recalled_by_asking_when_to_go(language, tell, ask, answer):
    _, asked = conversation(language, tell, ask)
    assert answer in asked.text
