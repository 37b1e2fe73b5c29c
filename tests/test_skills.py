"""Skills: timers and alarms that go off on time and survive a restart, a memory for your name and
what you tell it, volume and mute by voice, "say that again", and warmth when you are low."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from conftest import is_a_line
from speaker.commands import Command, CommandName
from speaker.dialogue import Dialogue
from speaker.dialogue.memory import FILE
from speaker.dialogue.persona import builtin
from speaker.events import Error, Timer
from speaker.testing.understanding import understands


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, *when):
        self.now = datetime(*when)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock(2026, 11, 27, 15, 0)


def speaker(language, clock, state, seed=0) -> Dialogue:
    """A dialogue keeping its memory in `state` (a new one there is the speaker after a restart)."""
    return Dialogue(language, clock=clock, seed=seed, state_dir=state)


# --- timers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, start, status", [
    ("en", "set a timer for 3 minutes", "how much time is left"),
    ("ko", "삼분 타이머", "타이머 남은 시간"),
])
def test_a_timer_tells_the_time_left_and_goes_off_on_time(language, start, status, clock, tmp_path):
    d = speaker(language, clock, tmp_path)
    reply = d.reply(start)
    assert reply.intent == "HassStartTimer" and ("3 minutes" in reply.text or "3분" in reply.text)
    clock.advance(70)
    left = d.reply(status).text
    assert ("1 minute and 50 seconds" in left) if language == "en" else ("1분 50초" in left), left
    clock.advance(109)
    assert d.due() is None  # one second to go
    clock.advance(1)
    done = d.due()
    assert done is not None and done.intent is None
    assert done.events == (Timer(kind="timer", name=None, seconds=180),)
    assert "3 minute timer" in done.text if language == "en" else "3분 타이머" in done.text
    assert d.due() is None  # said once
    assert d.reply(status).text in builtin(language).lines["no_timer"]


def test_several_named_timers_run_at_once_and_are_cancelled_by_name(clock, tmp_path):
    d = speaker("en", clock, tmp_path)
    d.reply("set a pasta timer for 10 minutes")
    d.reply("set a timer for 4 minutes for the eggs")
    d.reply("set a timer for 30 seconds")
    status = d.reply("how much time is left").text
    assert status.index("30 seconds") < status.index("4 minutes on the eggs timer") < status.index("10 minutes on the pasta timer")
    assert d.reply("how long is left on the pasta timer").text.count("10 minutes") == 1
    cancelled = d.reply("cancel the pasta timer")
    assert cancelled.intent == "HassCancelTimer" and "pasta" in cancelled.text
    clock.advance(30)
    assert d.due().events[0] == Timer(kind="timer", name=None, seconds=30)
    clock.advance(240)
    assert d.due().events[0].name == "eggs"
    clock.advance(600)
    assert d.due() is None  # the pasta timer was cancelled


def test_two_timers_due_together_are_told_together(clock, tmp_path):
    d = speaker("ko", clock, tmp_path)
    d.reply("라면 타이머 삼분")
    d.reply("계란 타이머 3분")
    clock.advance(181)
    done = d.due()
    assert [e.name for e in done.events] == ["라면", "계란"]
    assert "라면 타이머" in done.text and "계란 타이머" in done.text


@pytest.mark.parametrize("language, start, cancel_all", [
    ("en", "set a timer for {} minutes", "cancel all timers"),
    ("ko", "{}분 타이머", "타이머 전부 취소"),
])
def test_all_timers_can_be_cancelled_at_once(language, start, cancel_all, clock, tmp_path):
    d = speaker(language, clock, tmp_path)
    for minutes in (1, 2, 3):
        d.reply(start.format(minutes))
    assert is_a_line(d.reply(cancel_all).text, builtin(language).lines["timers_cancelled"])
    clock.advance(3600)
    assert d.due() is None
    assert d.reply(cancel_all).text in builtin(language).lines["no_timer"]


def test_timers_survive_a_restart_and_one_due_while_off_goes_off_at_start(clock, tmp_path):
    speaker("en", clock, tmp_path).reply("set a tea timer for 5 minutes")
    speaker("en", clock, tmp_path).reply("set a timer for 20 minutes")
    clock.advance(60)
    again = speaker("en", clock, tmp_path)  # the speaker restarted
    assert "4 minutes on the tea timer" in again.reply("how much time is left").text
    clock.advance(600)  # ...and was off while the tea timer went off
    restarted = speaker("en", clock, tmp_path)
    done = restarted.due()
    assert [e.name for e in done.events] == ["tea"]
    assert "tea timer" in done.text
    assert "9 minutes" in restarted.reply("how much time is left").text


# --- alarms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, said, hour, minute, day", [
    ("en", "wake me up at 7", 19, 0, 27),  # 3 PM now: the next 7 o'clock is this evening
    ("en", "set an alarm for 7 am", 7, 0, 28),
    ("en", "wake me up at seven thirty in the morning", 7, 30, 28),
    ("en", "set an alarm for 16:45", 16, 45, 27),
    ("ko", "아침 7시 알람", 7, 0, 28),
    ("ko", "7시 반에 깨워줘", 19, 30, 27),
    ("ko", "오후 3시 15분 알람", 15, 15, 27),
])
def test_an_alarm_is_set_for_the_next_such_time(language, said, hour, minute, day, clock, tmp_path):
    d = speaker(language, clock, tmp_path)
    reply = d.reply(said)
    assert reply.intent == "SpeakerSetAlarm"
    assert ("tomorrow" if day == 28 else "today") in reply.text or ("내일" if day == 28 else "오늘") in reply.text
    due = datetime(2026, 11, day, hour, minute)
    clock.now = due - timedelta(seconds=1)
    assert d.due() is None
    clock.now = due
    done = d.due()
    assert done.events == (Timer(kind="alarm", name=None, at=due.isoformat(timespec="minutes")),)


def test_a_morning_alarm_wakes_you_with_a_good_morning_and_your_name(clock, tmp_path):
    d = speaker("en", clock, tmp_path, seed=2)
    d.reply("my name is Jo")
    d.reply("set an alarm for 6:30 am")
    assert "6:30 AM tomorrow" in d.reply("what alarms do I have").text
    clock.now = datetime(2026, 11, 28, 6, 30)
    done = d.due()
    assert "6:30 AM" in done.text
    assert any(line.format(time="6:30 AM", user="Jo", name="Samantha") == done.text
               for line in builtin("en").lines["alarm_done"]["morning"])


def test_alarms_survive_a_restart_and_can_be_cancelled(clock, tmp_path):
    speaker("ko", clock, tmp_path).reply("내일 아침 7시 알람 맞춰")
    restarted = speaker("ko", clock, tmp_path)
    assert "오전 일곱 시" in restarted.reply("알람 확인").text
    assert restarted.reply("알람 취소").text in builtin("ko").lines["alarm_cancelled"]
    clock.advance(86400)
    assert speaker("ko", clock, tmp_path).due() is None


# --- memory --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, tell, ask, answer", [
    ("en", "my sister's birthday is on Friday", "when is my sister's birthday", "your sister's birthday is on Friday"),
    ("en", "my keys are in the kitchen drawer", "where are my keys", "your keys are in the kitchen drawer"),
    ("ko", "내 동생 생일은 금요일이야", "동생 생일 언제야", "동생 생일은 금요일이에요"),
    ("ko", "내 열쇠는 서랍에 있어", "내 열쇠 어디야", "열쇠는 서랍에 있어요"),
])
def test_what_you_tell_it_is_remembered_across_a_restart(language, tell, ask, answer, clock, tmp_path):
    told = speaker(language, clock, tmp_path).reply(tell)
    assert told.intent == "SpeakerRemember" and answer.lower() in told.text.lower()
    recalled = speaker(language, clock, tmp_path).reply(ask)
    assert recalled.intent == "SpeakerRecall" and answer.lower() in recalled.text.lower()


@pytest.mark.parametrize("language, name, tell, ask", [
    ("en", "Alex", "my name is alex", "what's my name"),
    ("ko", "민수", "내 이름은 민수야", "내 이름 알아"),
])
def test_your_name_is_remembered_across_a_restart_and_forgotten_on_request(language, name, tell, ask, clock, tmp_path):
    speaker(language, clock, tmp_path).reply(tell)
    restarted = speaker(language, clock, tmp_path)
    assert name in restarted.reply(ask).text
    assert restarted.reply("forget that" if language == "en" else "잊어버려").text in builtin(language).lines["forgot_name"]
    assert name not in speaker(language, clock, tmp_path).reply(ask).text


def test_forget_that_forgets_the_last_thing_and_only_that(clock, tmp_path):
    d = speaker("en", clock, tmp_path)
    d.reply("my name is Alex")
    d.reply("my sister's birthday is on Friday")
    d.reply("my keys are in the kitchen drawer")
    assert is_a_line(d.reply("forget that").text, builtin("en").lines["forgot"])
    d = speaker("en", clock, tmp_path)
    assert is_a_line(d.reply("where are my keys").text, builtin("en").lines["recall_unknown"])
    assert "Friday" in d.reply("when is my sister's birthday").text
    assert d.reply("forget my sister's birthday").intent == "SpeakerForget"
    assert "Friday" not in d.reply("when is my sister's birthday").text
    assert "Alex" in d.reply("what's my name").text
    assert d.reply("forget everything").text in builtin("en").lines["forgot_everything"]
    assert d.reply("forget that").text in builtin("en").lines["nothing_to_forget"]
    assert "Alex" not in speaker("en", clock, tmp_path).reply("what's my name").text


def test_telling_it_again_replaces_what_it_knew(clock, tmp_path):
    d = speaker("en", clock, tmp_path)
    d.reply("my sister's birthday is on Friday")
    d.reply("my sister's birthday is on Sunday")
    answer = d.reply("when is my sister's birthday").text
    assert "Sunday" in answer and "Friday" not in answer


def test_a_change_made_by_another_process_is_seen(clock, tmp_path):
    """`speaker chat` and the running speaker share the state directory."""
    running = speaker("en", clock, tmp_path)
    speaker("en", clock, tmp_path).reply("set a timer for 1 minute")  # e.g. typed in `speaker chat`
    clock.advance(60)
    assert running.due().events[0].seconds == 60


# --- volume, mute, repeat ------------------------------------------------------------------------

@pytest.mark.parametrize("language, said, command", [
    ("en", "set the volume to 40 percent", ("volume", {"level": 40})),
    ("en", "turn it up", ("volume", {"step": 20})),
    ("en", "quieter", ("volume", {"step": -20})),
    ("ko", "볼륨 50%로", ("volume", {"level": 50})),
    ("ko", "볼륨 올려", ("volume", {"step": 20})),
    ("ko", "소리 줄여 줘", ("volume", {"step": -20})),
])
def test_volume_by_voice_becomes_a_command(language, said, command, clock):
    reply = Dialogue(language, clock=clock, seed=0).reply(said)
    assert reply.command == Command(CommandName(command[0]), command[1]) and reply.text


@pytest.mark.parametrize("language, ask, again", [("en", "what time is it", "say that again"),
                                                   ("ko", "지금 몇 시야", "다시 말해줘")])
def test_say_that_again_repeats_the_last_answer(language, ask, again, clock):
    d = Dialogue(language, clock=clock, seed=0)
    assert d.reply(again).text in builtin(language).lines["nothing_to_repeat"]
    first = d.reply(ask).text
    assert d.reply(again).text.endswith(first)
    assert d.reply(again).text.endswith(first)  # twice: still the answer, not "I said: I said: ..."


def test_say_that_again_repeats_a_timer_that_just_went_off(clock):
    d = Dialogue("en", clock=clock, seed=0)
    d.reply("set a timer for 10 seconds")
    clock.advance(10)
    done = d.due().text
    assert d.reply("say that again").text.endswith(done)


# --- warmth ----------------------------------------------------------------------------------------

FEELINGS = {  # one way each feeling is said (tests/test_dialogue.py has more)
    "en": {"lonely": "nobody calls me", "sad": "I'm feeling kind of blue", "tired": "I'm totally worn out",
           "long_day": "work was exhausting today", "stressed": "I have so much to do", "anxious": "I'm a bit nervous",
           "bored": "I don't know what to do with myself", "missing": "I'm homesick", "happy": "I'm in a good mood",
           "excited": "I can't wait for the weekend", "proud": "I got the job", "sleepless": "I keep waking up"},
    "ko": {"lonely": "요즘 너무 쓸쓸해", "sad": "오늘 좀 속상해", "tired": "나 너무 지쳤어", "long_day": "오늘 진짜 힘든 하루였어",
           "stressed": "요즘 스트레스 받아", "anxious": "나 좀 걱정돼", "bored": "심심해요", "missing": "그리워",
           "happy": "오늘 기분이 좋아", "excited": "나 너무 설레", "proud": "나 좀 뿌듯해", "sleepless": "잠이 안 오네"},
}


# Said as people say them, not as the sentence files write them: (said, intent, the feeling or topic)
GENERALISES = {
    "en": [("I've had such a long day", "SpeakerFeeling", "long_day"), ("today has been a nightmare", "SpeakerFeeling",
            "long_day"), ("ugh, long day", "SpeakerFeeling", "long_day"), ("I'm sad because my cat died", "SpeakerFeeling",
            "sad"), ("I'm worried about my exam", "SpeakerFeeling", "anxious"), ("I miss my grandma so much",
            "SpeakerFeeling", "missing"), ("I'm in such a good mood", "SpeakerFeeling", "happy"),
           ("I finally finished my project", "SpeakerFeeling", "proud"), ("I'm excited about my trip", "SpeakerFeeling",
            "excited"), ("I'm bored out of my mind", "SpeakerFeeling", "bored"), ("i love you so much",
            "SpeakerAffection", None), ("are you a robot", "SpeakerIdentity", None), ("what are you capable of",
            "SpeakerCapabilities", None), ("make me laugh", "SpeakerSmallTalk", "joke"), ("cheer me up please",
            "SpeakerSmallTalk", "nice"), ("I just want to talk", "SpeakerSmallTalk", "talk"),
           ("thanks for listening to me", "SpeakerSmallTalk", "listening"), ("how was your day today",
            "SpeakerSmallTalk", "day")],
    "ko": [("혼자 있으니까 쓸쓸해", "SpeakerFeeling", "lonely"), ("회사 일이 너무 힘들어", "SpeakerFeeling", "stressed"),
           ("스트레스 너무 받아", "SpeakerFeeling", "stressed"), ("할 게 없어서 심심해", "SpeakerFeeling", "bored"),
           ("오늘 슬픈 일이 있었어", "SpeakerFeeling", "sad"), ("엄마 보고싶다", "SpeakerFeeling", "missing"),
           ("기분 너무 좋아", "SpeakerFeeling", "happy"), ("내일 여행 가서 설레", "SpeakerFeeling", "excited"),
           ("시험 합격했어", "SpeakerFeeling", "proud"), ("내일 시험 때문에 불안해", "SpeakerFeeling", "anxious"),
           ("너 나 좋아해?", "SpeakerAffection", None), ("너 사람이야 로봇이야", "SpeakerIdentity", None),
           ("뭐 해 줄 수 있어?", "SpeakerCapabilities", None), ("웃긴 얘기 해 줘", "SpeakerSmallTalk", "joke"),
           ("위로해 줘", "SpeakerSmallTalk", "nice"), ("심심한데 나랑 놀아 줘", "SpeakerSmallTalk", "talk"),
           ("들어줘서 고마워", "SpeakerSmallTalk", "listening"), ("너는 오늘 어땠어?", "SpeakerSmallTalk", "day")],
}


@pytest.mark.parametrize("language, said, intent, kind", [
    (language, *case) for language, cases in GENERALISES.items() for case in cases
])
def test_the_companion_understands_the_way_people_talk(language, said, intent, kind, clock):
    reply = Dialogue(language, clock=clock, seed=0).reply(said)
    assert reply.intent == intent and reply.slots.get("feeling", reply.slots.get("topic")) == kind, reply
    assert "{" not in reply.text and "I didn't" not in reply.text


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_feeling_is_answered_in_its_own_words_and_now_and_then_nudges_towards_people(language, clock):
    d = Dialogue(language, clock=clock, seed=4)
    lines = builtin(language).lines
    nudges = questions = 0
    for feeling, text in FEELINGS[language].items():
        for _ in range(6):
            reply = d.reply(text)
            assert reply.intent == "SpeakerFeeling" and reply.slots["feeling"] == feeling, text
            own = next((line for line in lines[f"feeling_{feeling}"]
                        if "{" not in line and (reply.text == line or reply.text.startswith(line + " "))), None)
            assert own is not None, (feeling, reply.text)
            rest = reply.text[len(own):].strip()
            assert rest == "" or rest in lines["nudge"], rest  # it knows nobody: no name, no relation
            nudges += rest in lines["nudge"]
            questions += reply.follow_up
            assert reply.follow_up == reply.text.endswith("?")
    assert 3 <= nudges <= 30  # now and then, not every time
    assert questions >= 12  # often a gentle question back, then it listens without the wake word


@pytest.mark.parametrize("language, family, low, happy, person", [
    ("en", "my brother's name is Tom", "I feel lonely", "I'm so excited", "Tom"),
    ("en", "my friend Amy's birthday is on Saturday", "i had a rough day", "I did it", "Amy"),
    ("en", "my sister lives in Ohio", "I'm sad", "I'm happy", "your sister"),
    ("ko", "우리 언니 이름은 지은이야", "적적해", "신나", "지은"),
    ("ko", "친구 민지 생일은 토요일이야", "오늘 너무 우울해", "기분 최고야", "민지"),
])
def test_the_nudge_names_someone_you_told_it_about(language, family, low, happy, person, clock):
    d = Dialogue(language, clock=clock, seed=4)
    d.reply(family)
    said = [d.reply(low).text for _ in range(12)]
    assert any(person in s for s in said)
    assert not any(s.endswith(tuple(builtin(language).lines["nudge"])) for s in said)  # not "someone": a name
    shared = [d.reply(happy).text for _ in range(12)]
    assert any(person in s for s in shared)


def test_missing_someone_is_answered_about_them_and_they_are_remembered(clock):
    d = Dialogue("en", clock=clock, seed=0)
    reply = d.reply("I really miss my dad")
    assert reply.slots["feeling"] == "missing" and "your dad" in reply.text and "my dad" not in reply.text
    said = [d.reply("I'm feeling down") for _ in range(12)]
    assert any("your dad" in r.text for r in said)
    ko = Dialogue("ko", clock=clock, seed=0).reply("할머니가 너무 보고 싶어")
    assert ko.slots["feeling"] == "missing" and "할머니" in ko.text and "할머니가" not in ko.text


@pytest.mark.parametrize("language, said, key", [
    ("en", "I love you", "SpeakerAffection"), ("en", "do you even love me at all", "SpeakerAffection"),
    ("en", "are you a real person", "SpeakerIdentity"), ("en", "what are you exactly", "SpeakerIdentity"),
    ("ko", "나 사랑해?", "SpeakerAffection"), ("ko", "너 사람이야?", "SpeakerIdentity"),
])
def test_affection_and_its_own_nature_are_answered_warmly_and_honestly(language, said, key, clock):
    d = Dialogue(language, clock=clock, seed=1)
    lines = builtin(language).lines[key]
    answers = {d.reply(said).text for _ in range(12)}
    assert len(answers) >= 2 and all(is_a_line(a, lines) for a in answers)
    if key == "SpeakerIdentity":  # never claims to be human
        assert all(("not a person" in a or "not a human" in a or "program" in a or "code" in a) if language == "en"
                   else ("사람은 아니" in a or "프로그램" in a or "코드" in a) for a in answers)


@pytest.mark.parametrize("language, said", [("en", "so what can you do for me"), ("ko", "넌 뭘 할 수 있어")])
def test_what_it_can_do_is_a_short_true_list(language, said, clock):
    d = Dialogue(language, clock=clock, seed=0)
    answer = d.reply(said).text
    skills = ("timer", "alarm", "time", "remember") if language == "en" else ("타이머", "알람", "시간", "기억")
    assert all(word in answer.lower() for word in skills) and len(answer) < 220
    for claim in ("timer for 5 minutes", "wake me up at 7", "what time is it", "my keys are in the drawer") \
            if language == "en" else ("5분 타이머 맞춰줘", "7시에 깨워줘", "지금 몇 시야", "내 열쇠는 서랍에 있어"):
        assert understands(d, claim) or d.reply(claim).intent  # each thing it claims, it does


@pytest.mark.parametrize("language, asks", [
    ("en", {"joke": "got any jokes", "nice": "say something kind", "story": "tell me a little story",
            "talk": "could we just chat for a bit", "listening": "thank you for listening"}),
    ("ko", {"joke": "농담 좀 해 줘", "nice": "칭찬 좀 해 줘", "story": "옛날 이야기 하나 해 줘",
            "talk": "나랑 대화하자", "listening": "얘기 들어줘서 고마워"}),
])
def test_small_talk_has_several_lines_of_each_kind_never_the_same_twice_in_a_row(language, asks, clock):
    d = Dialogue(language, clock=clock, seed=2)
    for topic, said in asks.items():
        replies = [d.reply(said) for _ in range(10)]
        assert all(r.intent == "SpeakerSmallTalk" and r.slots["topic"] == topic for r in replies), said
        texts = [r.text for r in replies]
        assert all(a != b for a, b in zip(texts, texts[1:])) and len(set(texts)) >= 2
        assert all(1 <= len(re.findall(r"[.!?](\s|$)", t)) <= 3 for t in texts), texts  # one to three sentences


@pytest.mark.parametrize("language, said", [("en", "tell me a story"), ("ko", "이야기 하나 해 줘")])
def test_a_story_fits_the_time_of_day(language, said):
    lines = builtin(language).lines["smalltalk_story"]
    for hour, part in ((8, "morning"), (23, "night")):
        d = Dialogue(language, clock=lambda: datetime(2026, 11, 27, hour, 0), seed=0)
        assert is_a_line(d.reply(said).text, lines[part])


def test_with_a_language_model_a_story_or_a_chat_goes_to_the_model_and_a_joke_stays_a_line(clock):
    import socket

    from speaker.config import LlmSettings
    from speaker.dialogue.llm import Chat

    with socket.socket() as s:  # a port nobody listens on: the model is asked, and is down
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    d = Dialogue("en", clock=clock, seed=0, chat=Chat(LlmSettings(url=url, model="tiny", timeout_seconds=2.0)))
    for said in ("tell me a story", "can we talk"):
        reply = d.reply(said)
        assert reply.intent is None and reply.stream is not None
        assert list(reply.stream)  # the persona's gentle line, since the model is down
        assert [e.code for e in reply.stream.events if isinstance(e, Error)] == ["llm_unavailable"]
    assert d.reply("tell me a joke").intent == "SpeakerSmallTalk"
    assert d.reply("I had a long day at work").intent == "SpeakerFeeling"
