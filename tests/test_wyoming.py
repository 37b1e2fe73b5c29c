"""The speaker as Wyoming services ([wyoming]): the real `speaker run` daemon, talked to by the wyoming
library's own client as Home Assistant's Assist does, in English (pocketsphinx, piper) and Korean
(vosk, espeak-ng). Its speech to text, its voice and its companion answer; a stranger's malformed or
oversized events get an `error` event and the service goes on; it is found over zeroconf."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

from conftest import RunningSpeaker, free_port, natural_speech, recording, speech
from test_reload import Feeder
from speaker.audio import SAMPLE_RATE, resample
from speaker.wyoming.framing import MAX_LINE, MAX_PAYLOAD

SERVICE = "_wyoming._tcp.local."


class WyomingSpeaker:
    """`speaker run` with [wyoming] on a free loopback port, fed a quiet room as a microphone."""

    def __init__(self, folder, language: str, device_id: str, port: int | None = None, more: str = ""):
        """`more`: more of the config file, after [wyoming]'s own keys (more of them, then other sections)."""
        self.port = port or free_port()
        self.device_id = device_id
        conf = folder / "speaker.toml"
        conf.write_text(f'language = "{language}"\ndevice_id = "{device_id}"\n'
                        f'[wyoming]\nenabled = true\nport = {self.port}\n{more}')
        self.speaker = RunningSpeaker(folder, ["--config", conf, "--input", "-", "--output", folder / "answers.wav"],
                                      {"STATE_DIRECTORY": str(folder / "state")}, stdin=True)
        self.feeder = Feeder(self.speaker.proc.stdin)
        self.speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle", timeout=120)

    def ask(self, *events: Event, until: str | tuple = ("transcript", "handled", "not-handled", "error", "info",
                                                        "audio-stop", "pong")) -> list[Event]:
        """Send `events` on one connection; the events it answers with, up to the first of type `until`."""
        return asyncio.run(self._ask(events, until))

    async def _ask(self, events, until) -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", self.port) as client:
            for event in events:
                await client.write_event(event)
            return await read_until(client, until)

    def close(self):
        self.feeder.close()
        self.speaker.stop()


async def read_until(client: AsyncTcpClient, until, timeout: float = 60) -> list[Event]:
    got = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        assert event is not None, f"the connection closed after {[e.type for e in got]}"
        got.append(event)
        if event.type in until:
            return got


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    speaker = WyomingSpeaker(tmp_path_factory.mktemp("english"), "en", "kitchen")
    yield speaker
    speaker.close()


@pytest.fixture(scope="module")
def korean(tmp_path_factory):
    speaker = WyomingSpeaker(tmp_path_factory.mktemp("korean"), "ko", "geosil")
    yield speaker
    speaker.close()


def audio_events(samples: np.ndarray, rate: int = SAMPLE_RATE, language: str | None = None) -> list[Event]:
    """A transcribe request for `samples`, as Home Assistant streams it: 1024-sample chunks."""
    data = samples.astype("<i2").tobytes()
    chunks = [AudioChunk(rate=rate, width=2, channels=1, audio=data[i:i + 2048]).event()
              for i in range(0, len(data), 2048)]
    return [Transcribe(language=language).event(), AudioStart(rate=rate, width=2, channels=1).event(), *chunks,
            AudioStop().event()]


def spoken(events: list[Event]) -> tuple[np.ndarray, int]:
    """The audio of a synthesize answer, and its rate."""
    start = next(e for e in events if e.type == "audio-start")
    assert start.data["width"] == 2 and start.data["channels"] == 1
    audio = b"".join(e.payload for e in events if e.type == "audio-chunk")
    return np.frombuffer(audio, "<i2"), start.data["rate"]


def test_describe_offers_its_speech_to_text_voice_and_companion_in_its_language(english, korean):
    for speaker, language, engine in ((english, "en", "pocketsphinx"), (korean, "ko", "vosk")):
        info = Info.from_event(speaker.ask(Describe().event())[-1])
        assert [model.languages for model in info.asr[0].models] == [[language]]
        assert engine in info.asr[0].models[0].name
        assert [voice.languages for voice in info.tts[0].voices] == [[language]]
        assert [model.name for model in info.handle[0].models] == ["Samantha" if language == "en" else "사만다"]
        assert info.handle[0].models[0].languages == [language]


def test_transcribe_hears_a_known_sentence_and_free_text(english, korean):
    asked = english.ask(*audio_events(recording(0.3, natural_speech("what time is it"), 0.5), language="en"))
    assert Transcript.from_event(asked[-1]).text == "what time is it"
    asked = english.ask(*audio_events(recording(0.3, natural_speech("my name is alex"), 0.5)))  # the name: free text
    assert Transcript.from_event(asked[-1]).text == "my name is alex"
    asked = korean.ask(*audio_events(recording(0.3, speech("지금 몇 시야", "ko+f3", 165), 0.5), language="ko"))
    assert Transcript.from_event(asked[-1]).text == "지금 몇 시야"


def test_silence_is_transcribed_as_nothing(english):
    assert Transcript.from_event(english.ask(*audio_events(recording(2.0)))[-1]).text == ""


def test_what_its_voice_says_its_own_ears_hear_at_the_voices_rate_and_in_stereo(english, korean):
    events = english.ask(Synthesize(text="What time is it?").event())
    samples, rate = spoken(events)
    assert 0.5 < len(samples) / rate < 3 and np.abs(samples).max() > 3000
    assert Transcript.from_event(english.ask(*audio_events(samples, rate))[-1]).text == "what time is it"
    stereo = np.repeat(samples, 2)  # the same audio in two channels, interleaved
    data = stereo.astype("<i2").tobytes()
    asked = english.ask(Transcribe().event(), AudioStart(rate=rate, width=2, channels=2).event(),
                        *[AudioChunk(rate=rate, width=2, channels=2, audio=data[i:i + 4096]).event()
                          for i in range(0, len(data), 4096)], AudioStop().event())
    assert Transcript.from_event(asked[-1]).text == "what time is it"
    events = korean.ask(Synthesize(text="지금 몇 시야?", voice=SynthesizeVoice(language="ko")).event())
    samples, rate = spoken(events)
    heard = korean.ask(*audio_events(resample(samples, rate, SAMPLE_RATE)))
    assert Transcript.from_event(heard[-1]).text == "지금 몇 시야"


def test_the_companion_answers_a_transcript_and_remembers_it(english, korean):
    seen = len(english.speaker.events)
    told = english.ask(Transcript(text="my name is Alex", language="en").event())[-1]
    assert told.type == "handled" and "Alex" in told.data["text"]
    asked = english.ask(Transcript(text="what is my name").event())[-1]
    assert asked.type == "handled" and "Alex" in asked.data["text"]
    intent = english.speaker.wait_event(lambda e: e["type"] == "intent" and e.get("via") == "wyoming", after=seen)
    assert intent["name"] == "SpeakerRememberName" and intent["slots"] == {"user_name": "Alex"}
    told = korean.ask(Transcript(text="내 이름은 민수야", language="ko").event())[-1]
    assert told.type == "handled" and "민수" in told.data["text"]
    asked = korean.ask(Transcript(text="내 이름이 뭐야").event())[-1]
    assert asked.type == "handled" and "민수" in asked.data["text"]


def test_a_command_said_to_the_companion_is_carried_out_as_a_local_one(english):
    seen = len(english.speaker.events)
    answer = english.ask(Transcript(text="set the volume to 40").event())[-1]
    assert answer.type == "handled"
    assert english.speaker.wait_event(lambda e: e["type"] == "volume", after=seen)["level"] == 40


def test_a_language_it_does_not_speak_is_refused_with_an_error(english):
    for event in (Transcript(text="안녕", language="ko").event(), Transcribe(language="de").event(),
                  Synthesize(text="Hallo", voice=SynthesizeVoice(language="de")).event()):
        error = english.ask(event)[-1]
        assert error.type == "error" and error.data["code"] == "unsupported" and "en" in error.data["text"]


# -- a stranger's bytes --------------------------------------------------------------------------

def raw(port: int, data: bytes, *, first: Event | None = None) -> list[Event]:
    """Write `data` as it is to the Wyoming server on `port` (after `first`, when given), then a describe;
    the events answered up to its info."""
    async def run():
        async with AsyncTcpClient("127.0.0.1", port) as client:
            if first is not None:
                await client.write_event(first)
            client._writer.write(data)
            await client.write_event(Describe().event())
            return await read_until(client, ("info",), timeout=30)
    return asyncio.run(run())


def header(**fields) -> bytes:
    return json.dumps(fields).encode() + b"\n"


@pytest.mark.parametrize("data, code", [
    (b"not json\n", "bad_event"),
    (b'["a list"]\n', "bad_event"),
    (header(type=5), "bad_event"),
    (header(type="describe", data_length=-1), "bad_event"),
    (header(type="describe", payload_length="ten"), "bad_event"),
    (header(type="describe", data_length=4) + b"[1,]", "bad_event"),
    (header(type="audio-chunk", data={"rate": 16000, "width": 2, "channels": 1}), "bad_event"),  # before audio-start
    (header(type="audio-start", data={"rate": 16000, "width": 4, "channels": 1}), "unsupported"),
    (header(type="synthesize", data={"text": 5}), "bad_event"),
    (header(type="synthesize", data={"text": "x" * 5000}), "too_large"),
    (header(type="run-pipeline", data={}), "unsupported"),
    (b"[" * 20_000 + b"\n", "bad_event"),
    (b'{"type": "ping", "data": {"n": ' + b"9" * 5000 + b"}}\n", "bad_event"),
    (b"x" * (MAX_LINE * 3) + b"\n", "too_large"),
    (header(type="audio-chunk", payload_length=MAX_PAYLOAD * 3) + b"\0" * (MAX_PAYLOAD * 3), "too_large"),
], ids=lambda value: value[:20].decode("latin-1") if isinstance(value, bytes) else value)
def test_a_bad_event_gets_an_error_and_the_connection_goes_on(english, data, code):
    events = raw(english.port, data)
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].data["code"] == code and errors[0].data["text"], [e.type for e in events]
    assert events[-1].type == "info"  # the same connection answers what comes next


def test_too_long_a_recording_is_refused_and_the_next_one_is_heard(english):
    second = np.zeros(SAMPLE_RATE, np.int16).tobytes()
    events = [AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event(),
              *[AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=second).event() for _ in range(61)]]
    error = english.ask(*events)[-1]
    assert error.type == "error" and error.data["code"] == "too_large"
    asked = english.ask(*audio_events(recording(0.3, natural_speech("what time is it"), 0.5)))
    assert Transcript.from_event(asked[-1]).text == "what time is it"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=10)


def event_lines(types: list[str], keys: list[str]) -> st.SearchStrategy[bytes]:
    """Wyoming event lines: one of `types` or any short name, with data of some of `keys`, any JSON values."""
    return st.builds(lambda kind, data: json.dumps({"type": kind, "data": data}).encode() + b"\n",
                     st.sampled_from(types) | st.text(max_size=10),
                     st.dictionaries(st.sampled_from(keys), json_values, max_size=4))


events = event_lines(["describe", "transcribe", "audio-start", "audio-chunk", "audio-stop", "synthesize", "transcript",
                      "ping"], ["text", "language", "rate", "width", "channels", "voice"])
strangers = st.lists(events | st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"") + b"\n"), min_size=1,
                     max_size=5).map(b"".join)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=strangers)
def test_fuzzed_events_never_stop_the_service(english, data):
    assert raw(english.port, data)[-1].type == "info"
    assert english.speaker.proc.poll() is None


def test_a_client_that_hangs_up_mid_event_leaves_the_service_answering(english):
    async def hang_up():
        async with AsyncTcpClient("127.0.0.1", english.port) as client:
            client._writer.write(header(type="audio-chunk", payload_length=10_000) + b"\0" * 10)
            await client._writer.drain()
    asyncio.run(hang_up())
    assert english.ask(Describe().event())[-1].type == "info"


def test_a_port_in_use_is_an_error_event_and_the_speaker_runs_on(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        speaker = WyomingSpeaker(tmp_path, "en", "hall", port=taken.getsockname()[1])
        try:
            error = speaker.speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "wyoming_unavailable")
            assert str(speaker.port) in error["message"]
            assert speaker.speaker.proc.poll() is None
        finally:
            speaker.close()


# -- discovery -----------------------------------------------------------------------------------

def test_the_service_is_found_over_zeroconf_at_its_port(english):
    from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

    found = threading.Event()

    class Found(ServiceListener):
        def add_service(self, zc, type_, name):
            if name == f"{english.device_id}.{SERVICE}":
                found.set()

        update_service = remove_service = lambda self, *args: None

    zeroconf = Zeroconf(interfaces=["127.0.0.1"])  # the daemon listens, and advertises, on loopback only
    try:
        browser = ServiceBrowser(zeroconf, SERVICE, Found())
        assert found.wait(15)
        info = zeroconf.get_service_info(SERVICE, f"{english.device_id}.{SERVICE}", timeout=5000)
        assert info.port == english.port and info.parsed_addresses() == ["127.0.0.1"]
        browser.cancel()
    finally:
        zeroconf.close()


def test_while_serving_the_speaker_still_answers_its_own_microphone(english, hey_jarvis):
    seen = len(english.speaker.events)
    english.feeder.say(recording(0.5, hey_jarvis, 0.3, natural_speech("what time is it"), 1.5))
    english.speaker.wait_event(lambda e: e["type"] == "intent" and e.get("via") is None, after=seen)
    english.speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle", after=seen + 1, timeout=60)
    assert english.ask(Describe().event())[-1].type == "info"
