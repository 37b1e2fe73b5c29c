"""Open conversation through a real OpenAI-compatible HTTP server on loopback: answers, and the
persona answering on its own (with an error event) when the server is slow, down or talks nonsense."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import recording, speech
from speaker.audio import WavSink, frames_of
from speaker.config import Settings
from speaker.dialogue import Dialogue
from speaker.dialogue.llm import Chat, endpoint, speakable
from speaker.dialogue.persona import builtin
from speaker.endpoint import Endpointer
from speaker.events import EventBus
from speaker.pipeline import Pipeline, Stages
from speaker.voice import Voice
from speaker.wake import WakeDetector


class ChatServer:
    """A small chat completions server. `behaviour` decides each answer: "ok", "slow", "garbage",
    "no_choices", "empty", "error500"; `content` is what the model says."""

    def __init__(self):
        self.behaviour = "ok"
        self.content = "The sea is wide and calm tonight."
        self.delay = 3.0
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body})
                if server.behaviour == "slow":
                    time.sleep(server.delay)
                if server.behaviour == "error500":
                    self.send_error(500, "model crashed")
                    return
                payload = {
                    "ok": {"choices": [{"message": {"role": "assistant", "content": server.content}}]},
                    "slow": {"choices": [{"message": {"role": "assistant", "content": server.content}}]},
                    "no_choices": {"error": {"message": "model not found"}},
                    "empty": {"choices": [{"message": {"role": "assistant", "content": "  "}}]},
                }.get(server.behaviour)
                data = b"<html>oops</html>" if payload is None else json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the speaker stopped waiting long ago
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ChatServer()
    yield s
    s.close()


def talker(server_url: str, language: str = "en", timeout: float = 1.0, **kwargs) -> Dialogue:
    return Dialogue(language, seed=0, chat=Chat(server_url, "tiny-model", timeout), **kwargs)


def test_what_no_skill_understands_is_answered_by_the_model_as_the_persona(server, tmp_path):
    d = talker(server.url, state_dir=tmp_path)
    d.reply("my name is Alex")
    d.reply("my sister's birthday is on Friday")
    reply = d.reply("tell me something about the sea")
    assert reply.intent is None and reply.text == "The sea is wide and calm tonight."
    assert reply.events == () and not reply.follow_up
    request = server.requests[-1]
    assert request["path"] == "/v1/chat/completions" and request["body"]["model"] == "tiny-model"
    messages = request["body"]["messages"]
    system = messages[0]
    assert system["role"] == "system" and "You are Samantha" in system["content"]
    assert "Alex" in system["content"] and "your sister's birthday is on Friday" in system["content"]
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"] == "my name is Alex" and messages[-1]["content"] == "tell me something about the sea"


def test_sentences_a_skill_understands_never_go_to_the_model(server):
    d = talker(server.url)
    for text in ("what time is it", "set a timer for 5 minutes", "thank you"):
        assert d.reply(text).intent is not None
    assert server.requests == []


def test_a_question_from_the_model_is_followed_up(server):
    server.content = "That sounds lovely. Where would you go?"
    assert talker(server.url).reply("I want to travel").follow_up


def test_korean_conversation_uses_the_korean_persona(server):
    server.content = "바다는 오늘 밤 잔잔해요."
    reply = talker(server.url, "ko").reply("바다 이야기 해 줘")
    assert reply.text == "바다는 오늘 밤 잔잔해요."
    assert "사만다" in server.requests[-1]["body"]["messages"][0]["content"]


@pytest.mark.parametrize("behaviour, code", [
    ("garbage", "llm_bad_reply"), ("no_choices", "llm_bad_reply"), ("empty", "llm_bad_reply"),
    ("error500", "llm_unavailable"),
])
def test_nonsense_from_the_server_is_answered_gently_with_an_error_event(server, behaviour, code):
    server.behaviour = behaviour
    reply = talker(server.url).reply("tell me a story")
    assert reply.text in builtin("en").lines["llm_failed"]
    assert [(kind, fields["code"]) for kind, fields in reply.events] == [("error", code)]
    assert server.url in reply.events[0][1]["message"]


def test_a_slow_server_costs_no_more_than_the_time_budget(server):
    server.behaviour = "slow"
    d = talker(server.url, timeout=0.5)
    started = time.monotonic()
    reply = d.reply("tell me a story")
    assert time.monotonic() - started < 0.8
    assert reply.text in builtin("en").lines["llm_failed"]
    assert reply.events[0][1]["code"] == "llm_timeout" and "0.5 s" in reply.events[0][1]["message"]


def test_a_server_that_is_down_is_noticed_at_once():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    reply = talker(url, timeout=2.0).reply("tell me a story")
    assert time.monotonic() - started < 1.0
    assert reply.events[0][1]["code"] == "llm_unavailable"


def test_an_answer_is_made_fit_to_be_spoken():
    said = speakable("<think>The user wants a fact.</think>**Sure!** Here's one: 🌊 the sea is *deep*. "
                     "It covers most of Earth. Fish live there. Whales sing.")
    assert said == "Sure! Here's one: the sea is deep. It covers most of Earth."


def test_the_server_address_can_be_given_the_way_people_copy_it():
    full = "http://h:11434/v1/chat/completions"
    assert endpoint("http://h:11434") == endpoint("http://h:11434/") == endpoint("http://h:11434/v1") == full
    assert endpoint(full) == full


def test_the_pipeline_is_never_stuck_behind_a_slow_model(server, korean_transcriber, tmp_path, hey_jarvis):
    """Spoken Korean nobody wrote a sentence for goes to the model; it hangs; the speaker answers anyway."""
    server.behaviour, server.delay = "slow", 5.0
    settings = Settings(language="ko")
    voice = Voice(settings.voice, "ko")
    stages = Stages(WakeDetector(settings.wake), Endpointer(settings.listen), korean_transcriber,
                    talker(server.url, "ko", timeout=1.0), voice)
    bus = EventBus("test")
    events = []
    bus.subscribe(events.append)
    sink = WavSink(tmp_path / "out.wav")
    pipeline = Pipeline(stages, bus, sink)
    pipeline.start()
    started = time.monotonic()
    try:
        for frame in frames_of(recording(1.0, hey_jarvis, 0.7, speech("우리 강아지가 공원에서 뛰어 놀아요", "ko+f3"), 12.0)):
            pipeline.process(frame)
    finally:
        sink.close()
        voice.close()
    assert time.monotonic() - started < 20
    errors = [e for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["llm_timeout"]
    response = next(e for e in events if e["type"] == "response")
    assert response["text"] in builtin("ko").lines["llm_failed"] and response["turn"] == errors[0]["turn"]
    assert events[-1]["state"] == "idle"

