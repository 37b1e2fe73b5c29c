"""Skills: timers and alarms that go off on time and survive a restart, a memory for your name and
what you tell it, volume and mute by voice, "say that again", and warmth when you are low."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from conftest import is_a_line
from speaker.dialogue import Dialogue
from speaker.dialogue.memory import FILE
from speaker.dialogue.persona import builtin


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
    assert done.events == (("timer", {"kind": "timer", "name": None, "seconds": 180}),)
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
    assert d.due().events[0][1] == {"kind": "timer", "name": None, "seconds": 30}
    clock.advance(240)
    assert d.due().events[0][1]["name"] == "eggs"
    clock.advance(600)
    assert d.due() is None  # the pasta timer was cancelled


def test_two_timers_due_together_are_told_together(clock, tmp_path):
    d = speaker("ko", clock, tmp_path)
    d.reply("라면 타이머 삼분")
    d.reply("계란 타이머 3분")
    clock.advance(181)
    done = d.due()
    assert [e[1]["name"] for e in done.events] == ["라면", "계란"]
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
    assert [e[1]["name"] for e in done.events] == ["tea"]
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
    assert done.events == (("timer", {"kind": "alarm", "name": None, "at": due.isoformat(timespec="minutes")}),)


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


def test_the_state_file_is_small_json_and_a_damaged_one_is_survived(clock, tmp_path):
    d = speaker("en", clock, tmp_path)
    d.reply("my name is Alex")
    d.reply("set a timer for 5 minutes")
    data = json.loads((tmp_path / FILE).read_text())
    assert data["user_name"] == "Alex" and data["timers"][0]["seconds"] == 300
    (tmp_path / FILE).write_text("{not json")
    d = speaker("en", clock, tmp_path)
    assert d.reply("how much time is left").text in builtin("en").lines["no_timer"]


def test_a_change_made_by_another_process_is_seen(clock, tmp_path):
    """`speaker chat` and the running speaker share the state directory."""
    running = speaker("en", clock, tmp_path)
    speaker("en", clock, tmp_path).reply("set a timer for 1 minute")  # e.g. typed in `speaker chat`
    clock.advance(60)
    assert running.due().events[0][1]["seconds"] == 60


# --- volume, mute, repeat ------------------------------------------------------------------------

@pytest.mark.parametrize("language, said, command", [
    ("en", "set the volume to 40 percent", ("volume", {"level": 40})),
    ("en", "turn it up", ("volume", {"step": 20})),
    ("en", "quieter", ("volume", {"step": -20})),
    ("en", "mute", ("mute", {})),
    ("ko", "볼륨 50%로", ("volume", {"level": 50})),
    ("ko", "볼륨 올려", ("volume", {"step": 20})),
    ("ko", "소리 줄여 줘", ("volume", {"step": -20})),
    ("ko", "음소거", ("mute", {})),
])
def test_volume_and_mute_by_voice_become_commands(language, said, command, clock):
    reply = Dialogue(language, clock=clock, seed=0).reply(said)
    assert reply.command == command and reply.text


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

@pytest.mark.parametrize("language, feelings", [
    ("en", {"lonely": "I feel lonely", "sad": "I'm sad", "tired": "I'm so tired", "sleepless": "I can't sleep",
            "happy": "I'm happy"}),
    ("ko", {"lonely": "적적해", "sad": "마음이 아파", "tired": "피곤해", "sleepless": "잠이안와", "happy": "기분좋아"}),
])
def test_feelings_are_answered_kindly_and_now_and_then_nudge_towards_people(language, feelings, clock):
    d = Dialogue(language, clock=clock, seed=4)
    lines = builtin(language).lines
    nudges = 0
    for feeling, text in feelings.items():
        for _ in range(6):
            said = d.reply(text).text
            own = next(line for line in lines[f"feeling_{feeling}"] if said.startswith(line.split("{")[0]))
            nudges += said != own and any(said.endswith(n) for n in lines["nudge"])
    assert 3 <= nudges <= 24  # now and then, not every time


@pytest.mark.parametrize("language, family, sad, person", [
    ("en", "my brother's name is Tom", "I feel lonely", "brother"),
    ("ko", "우리 언니 이름은 지은이야", "적적해", "언니"),
])
def test_the_nudge_names_someone_you_told_it_about(language, family, sad, person, clock):
    d = Dialogue(language, clock=clock, seed=4)
    d.reply(family)
    said = [d.reply(sad).text for _ in range(12)]
    assert any(person in s for s in said)
