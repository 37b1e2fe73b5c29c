"""`speaker ask` and `speaker chat`: the companion by typing, as a new user would try it."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import ROOT, SPEAKER, is_a_line, run_speaker, speaker_env
from speaker.dialogue.persona import builtin


def ask(*args) -> str:
    result = run_speaker("ask", *args, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_ask_prints_the_answer():
    answer = ask("what's your name").strip()
    assert is_a_line(answer, builtin("en").lines["SpeakerName"]) and "Samantha" in answer
    assert "사만다" in ask("이름이 뭐야", "--language", "ko")


def test_ask_json_tells_the_intent_and_slots():
    said = json.loads(ask("set a pasta timer for 10 minutes", "--json"))
    assert said["intent"] == "HassStartTimer" and said["slots"] == {"name": "pasta", "minutes": 10}
    assert is_a_line(said["response"], builtin("en").lines["timer_started"])
    said = json.loads(ask("라면 타이머 3분", "--language", "ko", "--json"))
    assert said["intent"] == "HassStartTimer" and said["slots"] == {"name": "라면", "minutes": 3}
    assert is_a_line(said["response"], builtin("ko").lines["timer_started"])
    unknown = json.loads(ask("play some jazz", "--json"))
    assert unknown["intent"] is None and unknown["slots"] == {}
    assert unknown["response"] in builtin("en").lines["not_understood"]


def test_what_you_tell_it_is_remembered_by_the_next_command():
    ask("my name is Alex")
    ask("my sister's birthday is on Friday")
    assert "Alex" in ask("what's my name")
    assert "your sister's birthday is on friday" in ask("when is my sister's birthday").lower()


def chat(lines: list[str | float], language: str = "en") -> list[str]:
    """Type `lines` into `speaker chat` (numbers are pauses in seconds); return what it printed."""
    proc = subprocess.Popen([*SPEAKER, "chat", "--language", language], cwd=ROOT, env=speaker_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in lines:
            if isinstance(line, float):
                time.sleep(line)
            else:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return out.splitlines()


def test_chat_is_a_conversation_and_a_timer_goes_off_while_you_wait():
    # the pause counts from before start-up, which takes seconds on a busy machine
    said = chat(["hello", "my name is Sam", "set a timer for 2 seconds", 8.0, "what's my name", "thank you"])
    assert all(line.startswith("Samantha: ") for line in said)
    answers = [line.removeprefix("Samantha: ") for line in said]
    assert len(answers) == 6
    assert is_a_line(answers[0], builtin("en").lines["SpeakerGreet"])
    assert "Sam" in answers[1]
    assert is_a_line(answers[3], builtin("en").lines["timer_done"]) and "2 second timer" in answers[3]
    assert "Sam" in answers[4]


def test_chat_in_korean():
    said = chat(["안녕", "내 이름은 지영이야", "적적해", "고마워"], "ko")
    assert [line.split(":")[0] for line in said] == ["사만다"] * 4
    assert "지영" in said[1]
    lonely = said[2].removeprefix("사만다: ")
    assert any(lonely.startswith(line) for line in builtin("ko").lines["feeling_lonely"]), lonely
