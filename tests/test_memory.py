"""Memory: any fact you state is kept, recalled however you ask, listed and forgotten; the people you
mention are remembered; and the state file survives damage, a folder it cannot write, and restarts."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta

import pytest

from conftest import is_a_line, run_speaker
from speaker.dialogue import Dialogue, memory
from speaker.dialogue.memory import FILE
from speaker.dialogue.persona import builtin
from speaker.events import Error, Timer

NOON = datetime(2026, 11, 27, 12, 0)


def speaker(language, state, clock=lambda: NOON, seed=0) -> Dialogue:
    """A dialogue keeping its memory in `state` (a new one there is the speaker after a restart)."""
    return Dialogue(language, clock=clock, seed=seed, state_dir=state)


def errors(reply) -> list[str]:
    return [e.code for e in reply.events if isinstance(e, Error)]


# --- any fact, recalled however you ask ------------------------------------------------------------

# (what you tell it, a question asked another way, what the answer must hold)
FACTS = {
    "en": [
        ("my friend Amy's birthday is on Saturday", "remind me when Amy's birthday is", "Saturday"),
        ("remember that my dentist appointment is on Tuesday", "when's my dentist appointment", "Tuesday"),
        ("Please remember I have a yoga class at 6 pm", "when is my yoga class", "6 pm"),
        ("My mom's phone number is 555 0142.", "what is my mom's phone number", "555 0142"),
        ("my car is parked on level 3", "where's my car", "level 3"),
        ("Tom's favourite colour is green", "do you remember what Tom's favourite colour is", "green"),
        ("note that my passport is in the top drawer", "where is my passport", "top drawer"),
        ("my sister works at the hospital", "tell me about my sister", "hospital"),
    ],
    "ko": [
        ("내 생일은 3월 5일이야", "내 생일이 언제야", "3월 5일"),
        ("친구 민지 생일은 토요일이야", "민지 생일이 언제더라", "토요일"),
        ("치과 예약은 화요일이야", "치과 예약 언제지", "화요일"),
        ("우리 엄마 전화번호는 010 1234 5678이야", "엄마 전화번호 뭐였지", "010 1234 5678"),
        ("내 열쇠는 신발장 위에 있어", "내 열쇠 어디 있더라", "신발장 위"),
        ("기억해 줘 동생 면접은 금요일이야", "동생 면접 언제야", "금요일"),
    ],
}


@pytest.mark.parametrize("language, tell, ask, answer", [
    (language, tell, ask, answer) for language, cases in FACTS.items() for tell, ask, answer in cases
])
def test_any_fact_is_kept_and_recalled_however_you_ask_even_after_a_restart(language, tell, ask, answer, tmp_path):
    told = speaker(language, tmp_path).reply(tell)
    assert told.intent == "SpeakerRemember" and answer in told.text, told
    assert is_a_line(told.text, builtin(language).lines["remembered"])
    recalled = speaker(language, tmp_path).reply(ask)
    assert recalled.intent == "SpeakerRecall" and answer in recalled.text, recalled


@pytest.mark.parametrize("language, mine, theirs, ask_mine, ask_theirs", [
    ("en", "my birthday is on May 5", "my friend Amy's birthday is on Saturday", "when is my birthday",
     "when is Amy's birthday"),
    ("ko", "내 생일은 5월 5일이야", "친구 민지 생일은 토요일이야", "내 생일 언제야", "민지 생일 언제야"),
])
def test_whose_it_is_matters(language, mine, theirs, ask_mine, ask_theirs, tmp_path):
    d = speaker(language, tmp_path)
    d.reply(mine)
    d.reply(theirs)
    assert "5" in d.reply(ask_mine).text and ("Saturday" if language == "en" else "토요일") not in d.reply(ask_mine).text
    assert ("Saturday" if language == "en" else "토요일") in d.reply(ask_theirs).text


@pytest.mark.parametrize("language, unknown", [
    ("en", "when is my brother's wedding"), ("en", "when's Amy's birthday"),
    ("ko", "동생 결혼식 언제야"),
])
def test_what_it_was_not_told_it_says_it_does_not_know(language, unknown, tmp_path):
    d = speaker(language, tmp_path)
    d.reply("my sister's birthday is in June" if language == "en" else "내 동생 생일은 6월이야")
    reply = d.reply(unknown)
    assert reply.intent == "SpeakerRecall" and is_a_line(reply.text, builtin(language).lines["recall_unknown"])
    assert "June" not in reply.text and "6월" not in reply.text


@pytest.mark.parametrize("language, said", [
    ("en", "today's weather is lovely"), ("en", "the sky is blue"), ("ko", "오늘은 금요일이야"),
])
def test_a_remark_that_is_not_a_fact_about_you_is_not_kept(language, said, tmp_path):
    d = speaker(language, tmp_path)
    reply = d.reply(said)
    assert reply.intent != "SpeakerRemember" and d.memory.facts == []


@pytest.mark.parametrize("language, said", [
    ("en", "my mom is sick"), ("en", "my life is a mess"), ("ko", "우리 엄마가 아파"),
])
def test_hard_news_is_met_with_care_not_filed_away(language, said, tmp_path):
    d = speaker(language, tmp_path)
    reply = d.reply(said)
    assert d.memory.facts == [] and reply.text.startswith(tuple(builtin(language).lines["feeling_sad"]))
    assert not is_a_line(reply.text, builtin(language).lines["remembered"])


@pytest.mark.parametrize("language, facts, ask, forget_one, gone, kept, forget_all", [
    ("en", ["my name is Alex", "my friend Amy's birthday is on Saturday", "my keys are in the blue bowl"],
     "what do you know about me", "forget Amy's birthday", "when is Amy's birthday", "where are my keys",
     "please forget everything you know about me"),
    ("ko", ["내 이름은 지영이야", "친구 민지 생일은 토요일이야", "내 열쇠는 파란 그릇에 있어"],
     "나에 대해 뭘 알고 있어", "민지 생일 잊어 줘", "민지 생일 언제야", "내 열쇠 어디야", "기억 다 지워 줘"),
])
def test_what_it_knows_is_listed_forgotten_one_at_a_time_or_all_at_once(language, facts, ask, forget_one, gone, kept,
                                                                        forget_all, tmp_path):
    d = speaker(language, tmp_path)
    for fact in facts:
        d.reply(fact)
    listed = d.reply(ask)
    assert listed.intent == "SpeakerListFacts"
    for word in (["Alex", "Saturday", "blue bowl"] if language == "en" else ["지영", "토요일", "파란 그릇"]):
        assert word in listed.text, listed.text
    assert d.reply(forget_one).intent == "SpeakerForget"
    d = speaker(language, tmp_path)  # after a restart
    assert is_a_line(d.reply(gone).text, builtin(language).lines["recall_unknown"])
    assert ("blue bowl" if language == "en" else "파란 그릇") in d.reply(kept).text
    assert d.reply(forget_all).text in builtin(language).lines["forgot_everything"]
    d = speaker(language, tmp_path)
    assert d.reply(ask).text in builtin(language).lines["no_facts"]
    assert d.memory.people == [] and d.memory.user_name == ""


def test_the_people_you_mention_are_remembered_with_their_names_and_relations(tmp_path):
    d = speaker("en", tmp_path)
    d.reply("my friend Amy's birthday is on Saturday")
    d.reply("my brother's name is Tom")
    d.reply("remember that my daughter starts school in September")
    people = {(p.name, p.relation) for p in speaker("en", tmp_path).memory.people}
    assert people == {("Amy", "friend"), ("Tom", "brother"), ("", "daughter")}
    k = speaker("ko", tmp_path / "ko")
    k.reply("우리 언니 이름은 지은이야")
    k.reply("친구 민지 생일은 토요일이야")
    assert {(p.name, p.relation) for p in k.memory.people} == {("지은", "언니"), ("민지", "친구")}
    d.reply("forget about Amy")
    assert "Amy" not in {p.name for p in d.memory.people}
    assert is_a_line(d.reply("when is Amy's birthday").text, builtin("en").lines["recall_unknown"])


# --- the state file ----------------------------------------------------------------------------------

GOOD_TIMER = {"name": "tea", "seconds": 300, "due": "2026-11-27T12:05:00"}
DAMAGED = {
    "an empty list": "[]",
    "null": "null",
    "cut short": '{"user_name": "Alex", "facts": [{"subject": "keys", "te',
    "not UTF-8": b'{"user_name": "\xff\xfe"}',
}


@pytest.mark.parametrize("damage", [*DAMAGED, "a folder"])
def test_a_damaged_state_file_is_kept_aside_reported_and_never_stops_the_speaker(damage, tmp_path):
    path = tmp_path / FILE
    if damage == "a folder":
        path.mkdir()
        (path / "inside").write_text("something of the user's")
    else:
        content = DAMAGED[damage]
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    d = speaker("en", tmp_path)
    reply = d.reply("my name is Alex")
    assert errors(reply) == ["state_damaged"] and reply.intent == "SpeakerRememberName"
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(f"{FILE}.damaged-")]
    assert len(aside) == 1
    if damage == "a folder":
        assert (aside[0] / "inside").read_text() == "something of the user's"
    else:
        content = DAMAGED[damage]
        assert aside[0].read_bytes() == (content if isinstance(content, bytes) else content.encode())
    assert json.loads(path.read_text())["user_name"] == "Alex"  # and it works on
    assert errors(d.reply("what's my name")) == []  # said once


def test_one_bad_entry_loses_only_that_entry(tmp_path):
    data = {"user_name": "Alex", "facts": [{"subject": "keys", "text": "your keys are in the bowl"}, {"subject": 5}],
            "timers": [GOOD_TIMER, {"name": "egg", "seconds": "soon", "due": "later"}],
            "alarms": [{"due": "2026-11-28T07:00:00"}, "7 am"], "people": [{"name": "Amy", "relation": "friend"}]}
    original = json.dumps(data)
    (tmp_path / FILE).write_text(original)
    d = speaker("en", tmp_path)
    assert d.memory.user_name == "Alex" and len(d.memory.facts) == 1 and len(d.memory.timers) == 1
    assert len(d.memory.alarms) == 1 and d.memory.people[0].name == "Amy"
    assert errors(d.reply("where are my keys")) == ["state_damaged"]
    aside = next(tmp_path.glob(f"{FILE}.damaged-*"))
    assert aside.read_text() == original  # the whole of it, to recover by hand
    kept = json.loads((tmp_path / FILE).read_text())
    assert kept["user_name"] == "Alex" and kept["timers"][0]["name"] == "tea" and len(kept["alarms"]) == 1


def test_the_state_file_and_folder_are_private_and_written_atomically(tmp_path):
    folder = tmp_path / "state"
    d = speaker("en", folder)
    d.reply("my name is Alex")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / FILE).stat().st_mode) == 0o600
    (folder / FILE).chmod(0o644)  # as an older version left it
    d.reply("set a timer for 5 minutes")
    assert stat.S_IMODE((folder / FILE).stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [FILE]  # no temporary file left behind
    data = json.loads((folder / FILE).read_text())
    assert data["user_name"] == "Alex" and data["timers"][0]["seconds"] == 300


def test_an_unwritable_folder_keeps_everything_in_memory_never_drops_a_timer_and_saves_later(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "RETRY_SECONDS", 0.0)  # try again at every chance, not every 30 s
    now = [NOON]
    blocked = tmp_path / "state"
    blocked.write_text("a file where the state folder should be")  # every save fails, as on a read-only disk
    d = speaker("en", blocked / "speaker", clock=lambda: now[0])
    reply = d.reply("set a timer for 1 minute")
    assert reply.intent == "HassStartTimer" and errors(reply) == ["state_unwritable"]
    assert errors(d.reply("my name is Alex")) == []  # said once, not at every try
    now[0] += timedelta(seconds=61)
    due = d.due()
    assert due is not None and isinstance(due.events[0], Timer) and "done" in due.text.lower()
    assert "Alex" in d.reply("what's my name").text
    assert not (blocked / "speaker").exists()
    blocked.unlink()  # the disk can be written again
    d.due()  # the once-a-second check tries the save again
    data = json.loads((blocked / "speaker" / FILE).read_text())
    assert data["user_name"] == "Alex" and data["timers"] == []


def test_a_state_file_another_process_changed_is_read_again(tmp_path):
    running = speaker("en", tmp_path)
    speaker("en", tmp_path).reply("my friend Amy's birthday is on Saturday")  # e.g. typed in `speaker chat`
    assert "Saturday" in running.reply("when is Amy's birthday").text


# --- the real command -------------------------------------------------------------------------------

def test_speaker_ask_survives_a_damaged_state_file_and_says_so(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / FILE).write_text("null")
    config = tmp_path / "speaker.toml"
    config.write_text("")
    result = run_speaker("ask", "what's my name", "--config", config, env={"STATE_DIRECTORY": str(state)}, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert is_a_line(result.stdout.decode().strip(), builtin("en").lines["name_unknown"])
    assert "damaged" in result.stderr.decode()
    assert len(list(state.glob(f"{FILE}.damaged-*"))) == 1


def test_speaker_chat_remembers_a_fact_and_the_person_in_it(tmp_path):
    config = tmp_path / "speaker.toml"
    config.write_text("")
    said = ["my friend Amy's birthday is on Saturday", "when's Amy's birthday", "what do you know about me",
            "forget Amy's birthday", "when's Amy's birthday"]
    result = run_speaker("chat", "--config", config, input="\n".join(said).encode() + b"\n", timeout=90,
                         env={"STATE_DIRECTORY": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr.decode()
    answers = [line.removeprefix("Samantha: ") for line in result.stdout.decode().splitlines()]
    assert len(answers) == 5
    assert "Saturday" in answers[1] and "Amy" in answers[2]
    assert is_a_line(answers[4], builtin("en").lines["recall_unknown"])
    people = json.loads((tmp_path / "state" / FILE).read_text())["people"]
    assert people == [{"name": "Amy", "relation": "friend"}]
    assert os.stat(tmp_path / "state" / FILE).st_mode & 0o077 == 0
