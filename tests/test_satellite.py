"""The speaker as a satellite of Home Assistant's Assist ([wyoming] satellite): the real `speaker run`
daemon, fed a microphone at its pace, and the wyoming library's own client playing Home Assistant's
part as its `wyoming` integration does (run-satellite, pings, a pipeline run after the satellite's
wake word, announcements, timers), its pipeline made of the speaker's own Wyoming services.
tests/test_home_assistant.py does the same against a real Home Assistant core."""

from __future__ import annotations

import asyncio
import shutil
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming.satellite import RunSatellite
from wyoming.timer import TimerFinished, TimerStarted
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStopped

from conftest import Mosquitto, free_port, natural_speech, recording
from test_mqtt import Listener
from test_wyoming import SERVICE, WyomingSpeaker, audio_events, event_lines, header, raw, read_until, spoken
from speaker.audio import SAMPLE_RATE
from speaker.wyoming.framing import MAX_PAYLOAD

HEARD_SECONDS = 3.0  # the audio Home Assistant's part takes as one request (its VAD, in the real thing)


@pytest.fixture(scope="module")
def satellite(tmp_path_factory):
    """An English speaker, satellite on a free port, its commands on a real mosquitto (`broker`)."""
    folder = Mosquitto.folder()
    broker = Mosquitto(folder).start()
    port = free_port()
    try:
        speaker = WyomingSpeaker(tmp_path_factory.mktemp("satellite"), "en", "den",
                                 more=f'satellite = true\nsatellite_port = {port}\n[mqtt]\nurl = "{broker.url}"\n')
        speaker.satellite_port, speaker.broker = port, broker
        watcher = Listener(broker.port, topics=["speaker/den/availability"])
        try:  # commands are heard from here on: it says it is online once it subscribed to them
            watcher.wait_for(lambda topic, payload: payload == b"online", timeout=60)
        finally:
            watcher.close()
        yield speaker
        speaker.close()
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


def command(speaker: WyomingSpeaker, name: str) -> None:
    """A command to the speaker over MQTT, as Home Assistant's MQTT buttons send it."""
    from paho.mqtt import publish

    publish.single(f"speaker/den/cmd/{name}", "{}", qos=1, hostname="127.0.0.1", port=speaker.broker.port)


class HomeAssistant:
    """Home Assistant's side of the satellite's connection: it connects, says run-satellite and pings
    every 2 s; its pipeline is the speaker's own services (speech to text, companion, voice)."""

    def __init__(self, speaker: WyomingSpeaker):
        self.speaker = speaker
        self.client = AsyncTcpClient("127.0.0.1", speaker.satellite_port)
        self._pinging: asyncio.Task | None = None

    async def __aenter__(self) -> "HomeAssistant":
        await self.client.connect()
        await self.client.write_event(RunSatellite().event())
        await self.client.write_event(Describe().event())  # answered once run-satellite was taken: linked
        await self.next("info")
        self._pinging = asyncio.create_task(self._ping())
        return self

    async def __aexit__(self, *exc) -> None:
        self._pinging.cancel()
        await self.client.disconnect()

    async def leave(self) -> None:
        """Go away, and wait until the satellite has closed its end: it has seen Home Assistant go."""
        self._pinging.cancel()
        self.client._writer.write_eof()
        async with asyncio.timeout(30):
            while await self.client.read_event() is not None:
                pass
        await self.client.disconnect()

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(2)
            await self.client.write_event(Ping().event())

    async def next(self, *types: str, timeout: float = 60) -> Event:
        """The satellite's next event of one of `types` within `timeout` s (pongs and the others skipped)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.client.read_event()
                    assert event is not None, "the satellite closed the connection"
                    if event.type in types:
                        return event
        except TimeoutError:
            raise AssertionError(f"no {types} within {timeout} s; the speaker's log:\n"
                                 f"{self.speaker.speaker.log.read_text()[-3000:]}") from None

    async def wake_and_ask(self, hey_jarvis: np.ndarray, meanwhile=None) -> tuple[int, np.ndarray]:
        """Once the speaker rests, "hey jarvis, what time is it" said to its microphone: how many events
        it had told before, and the request it streams (see `hear_request`)."""
        seen = await asyncio.to_thread(rested, self.speaker)
        self.speaker.feeder.say(recording(0.5, hey_jarvis, 0.3, natural_speech("what time is it"), 2.5))
        return seen, await self.hear_request(meanwhile)

    async def hear_request(self, meanwhile=None) -> np.ndarray:
        """The run the satellite asks for, and HEARD_SECONDS of the microphone it streams (`meanwhile()`
        is awaited once the run began)."""
        run = await self.next("run-pipeline")
        assert run.data["start_stage"] == "asr" and run.data["end_stage"] == "tts"
        if meanwhile is not None:
            await meanwhile()
        return await self.streamed()

    async def streamed(self, seconds: float = HEARD_SECONDS) -> np.ndarray:
        """`seconds` of the microphone the satellite streams, then the end of speech (Home Assistant's VAD)."""
        audio = b""
        while len(audio) < seconds * SAMPLE_RATE * 2:
            chunk = AudioChunk.from_event(await self.next("audio-chunk"))
            assert (chunk.rate, chunk.width, chunk.channels) == (SAMPLE_RATE, 2, 1)
            audio += chunk.audio
        await self.client.write_event(VoiceStopped().event())
        return np.frombuffer(audio, "<i2")

    async def answer(self, audio: np.ndarray) -> tuple[str, str]:
        """Its pipeline on what was heard: the speaker's speech to text, companion and voice; the
        transcript, the text and the sound go back to the satellite as Home Assistant sends them."""
        speaker = self.speaker
        text = Transcript.from_event((await asyncio.to_thread(speaker.ask, *audio_events(audio)))[-1]).text
        await self.client.write_event(Transcript(text=text).event())
        answer = (await asyncio.to_thread(speaker.ask, Transcript(text=text).event()))[-1].data["text"]
        await self.client.write_event(Synthesize(text=answer).event())
        await self.play(*spoken(await asyncio.to_thread(speaker.ask, Synthesize(text=answer).event())))
        return text, answer

    async def play(self, samples: np.ndarray, rate: int) -> None:
        """Sound to the satellite, in 1024-sample chunks (an answer, or an announcement on its own)."""
        await self.client.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        data = samples.astype("<i2").tobytes()
        for start in range(0, len(data), 2048):
            await self.client.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=data[start:start + 2048]).event())
        await self.client.write_event(AudioStop().event())


def rested(speaker: WyomingSpeaker) -> int:
    """Once the speaker is idle and nothing of a turn came after (what an earlier test made it say is
    over): how many events it told. An announcement is told (`timer`, `response`) before it is said,
    while the last state is still the idle before it: said over it, a wake word is heard only by
    barge-in, and a test that goes on would talk over it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        told = list(speaker.speaker.events)
        last = max(i for i, e in enumerate(told) if e["type"] == "state")
        if told[last]["state"] == "idle" and all(e.get("turn") is None for e in told[last + 1:]):
            return len(told)
        time.sleep(0.2)
    raise AssertionError(f"the speaker is not resting: {[e['type'] for e in told[last:]]}, last state {told[last]['state']}")


def settled(speaker: WyomingSpeaker) -> int:
    """Once what was queued for the pipeline's thread before now has run (the satellite's word about
    connections that came and went): an unchanged volume, asked over MQTT, is told after it. How many
    events it told, that volume included."""
    from paho.mqtt import publish

    before = len(speaker.speaker.events)
    publish.single("speaker/den/cmd/volume", '{"step": 0}', qos=1, hostname="127.0.0.1", port=speaker.broker.port)
    volume = speaker.speaker.wait_event(lambda e: e["type"] == "volume", after=before)
    return speaker.speaker.events.index(volume) + 1


def events_of_turn(speaker, turn: str) -> list[dict]:
    return [e for e in speaker.speaker.events if e.get("turn") == turn]


def test_it_describes_itself_as_a_satellite_with_its_own_wake_word(satellite):
    async def scenario():
        async with AsyncTcpClient("127.0.0.1", satellite.satellite_port) as client:
            await client.write_event(Describe().event())
            return Info.from_event((await read_until(client, ("info",)))[-1])

    info = asyncio.run(scenario())
    assert info.satellite.name == "den" and info.satellite.installed
    assert [m.name for m in info.wake[0].models] == ["hey_jarvis"]


def test_the_satellite_is_found_over_zeroconf_beside_the_services(satellite):
    from zeroconf import Zeroconf

    zeroconf = Zeroconf(interfaces=["127.0.0.1"])  # the daemon listens, and advertises, on loopback only
    try:
        for name, port in (("den", satellite.port), ("den-satellite", satellite.satellite_port)):
            info = zeroconf.get_service_info(SERVICE, f"{name}.{SERVICE}", timeout=15000)
            assert info is not None and info.port == port and info.parsed_addresses() == ["127.0.0.1"]
    finally:
        zeroconf.close()


def test_a_turn_goes_to_home_assistants_pipeline_and_its_voice_answers(satellite, hey_jarvis):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            await asyncio.sleep(3)  # nothing streams before the wake word: the next run is the one asked for
            seen, heard = await assist.wake_and_ask(hey_jarvis)
            text, answer = await assist.answer(heard)
            await assist.next("played", timeout=60)
            return seen, text, answer

    seen, text, answer = asyncio.run(scenario())
    assert text == "what time is it"
    wake = speaker.wait_event(lambda e: e["type"] == "wake", after=seen)
    turn = wake["turn"]
    speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle" and e["turn"] is None, after=seen + 1)
    told = events_of_turn(satellite, turn)
    states = [e["state"] for e in told if e["type"] == "state"]
    assert states == ["listening", "thinking", "speaking"]
    assert [e["text"] for e in told if e["type"] == "transcript"] == ["what time is it"]
    assert all(e["via"] == "home_assistant" for e in told if e["type"] == "transcript")
    assert [e["text"] for e in told if e["type"] == "response"] == [answer]
    assert not [e for e in told if e["type"] == "intent"]  # Home Assistant's pipeline understood it, not the speaker


def test_an_announcement_waits_for_the_users_turn_and_is_said_after_it(satellite, hey_jarvis):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            sound, rate = spoken(await asyncio.to_thread(satellite.ask, Synthesize(text="Dinner is ready.").event()))
            # the announcement comes while the request is heard
            seen, heard = await assist.wake_and_ask(hey_jarvis, meanwhile=lambda: assist.play(sound, rate))
            await assist.answer(heard)
            await assist.next("played")
            return seen

    seen = asyncio.run(scenario())
    wake = speaker.wait_event(lambda e: e["type"] == "wake", after=seen)
    announced = speaker.wait_event(lambda e: e["type"] == "response" and e["text"] == "", after=seen)
    told = speaker.events[seen:]
    user_turn_over = next(i for i, e in enumerate(told) if e["type"] == "state" and e["state"] == "idle")
    assert told.index(announced) > user_turn_over and announced["turn"] != wake["turn"]
    assert [e["text"] for e in told if e["type"] == "transcript" and e.get("via") == "home_assistant"] == [
        "what time is it"]


def test_home_assistants_error_is_told_and_the_speaker_answers_in_its_own_words(satellite, hey_jarvis):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            seen, _ = await assist.wake_and_ask(hey_jarvis)
            await assist.client.write_event(Error(text="No text recognized", code="stt-no-text-recognized").event())
            return seen

    seen = asyncio.run(scenario())
    error = speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "home_assistant_failed", after=seen)
    assert "stt-no-text-recognized" in error["message"]
    speaker.wait_event(lambda e: e["type"] == "response" and e["turn"] == error["turn"], after=seen)


def test_a_stop_while_home_assistant_thinks_ends_the_turn_and_its_late_answer_is_not_said(satellite, hey_jarvis):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            seen, heard = await assist.wake_and_ask(hey_jarvis)
            thinking = await asyncio.to_thread(speaker.wait_event, lambda e: e["type"] == "state" and
                                               e["state"] == "thinking", 60, seen)
            command(satellite, "stop")
            await asyncio.to_thread(speaker.wait_event, lambda e: e["type"] == "state" and e["state"] == "idle",
                                    60, speaker.events.index(thinking))
            await assist.answer(heard)  # Home Assistant's answer comes anyway, too late (Wyoming cannot cancel its run)
            await asyncio.sleep(3)
            return seen, thinking["turn"]

    seen, turn = asyncio.run(scenario())
    assert not [e for e in speaker.events[seen:] if e["type"] == "response" and e.get("via") is None]
    assert [e["state"] for e in events_of_turn(satellite, turn) if e["type"] == "state"] == ["listening", "thinking"]


def test_a_listen_command_without_the_wake_word_goes_to_home_assistant_too(satellite):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            seen = await asyncio.to_thread(rested, satellite)
            command(satellite, "listen")
            await assist.next("run-pipeline")
            satellite.feeder.say(recording(0.3, natural_speech("what time is it"), 2.5))
            # longer than the speech: audio the microphone's pipe held when the turn began streams first
            # (as the module's first test, right after the models loaded, the speech came after 3 s)
            text, _ = await assist.answer(await assist.streamed(HEARD_SECONDS + 3.0))
            await assist.next("played")
            return seen, text

    seen, text = asyncio.run(scenario())
    assert text == "what time is it"
    assert not [e for e in speaker.events[seen:] if e["type"] == "wake"]


def test_a_timer_of_home_assistants_rings_like_a_local_one(satellite):
    speaker = satellite.speaker

    async def scenario():
        async with HomeAssistant(satellite) as assist:
            seen = await asyncio.to_thread(rested, satellite)
            await assist.client.write_event(TimerStarted(id="t1", total_seconds=300, name="pasta").event())
            await assist.client.write_event(TimerFinished(id="t1").event())
            return seen

    seen = asyncio.run(scenario())
    timer = speaker.wait_event(lambda e: e["type"] == "timer", after=seen)
    assert timer["name"] == "pasta" and timer["seconds"] == 300
    said = speaker.wait_event(lambda e: e["type"] == "response" and e["turn"] == timer["turn"], after=seen)
    assert "pasta" in said["text"]


def test_without_home_assistant_it_answers_on_its_own_says_so_once_and_goes_back(satellite, hey_jarvis):
    speaker = satellite.speaker
    question = recording(0.5, hey_jarvis, 0.3, natural_speech("what time is it"), 2.5)

    async def connect_and_leave():
        async with HomeAssistant(satellite):
            await asyncio.sleep(1)

    seen = rested(satellite)
    asyncio.run(connect_and_leave())  # Home Assistant goes away
    lost = speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "home_assistant_lost", after=seen)
    for _ in range(2):  # two turns answered by the speaker itself
        before = len(speaker.events)
        satellite.feeder.say(question)
        intent = speaker.wait_event(lambda e: e["type"] == "intent", after=before)
        assert intent["name"] == "HassGetCurrentTime" and intent.get("via") is None
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle", after=before + 1)
    assert [e for e in speaker.events[seen:] if e["type"] == "error" and e["code"] == "home_assistant_lost"] == [lost]

    async def come_back():
        async with HomeAssistant(satellite) as assist:
            speaker.wait_event(lambda e: e["type"] == "home_assistant_restored", after=seen)
            satellite.feeder.say(question)
            text, _ = await assist.answer(await assist.hear_request())
            await assist.next("played")
            return text

    assert asyncio.run(come_back()) == "what time is it"


def test_home_assistant_back_as_its_old_connection_closes_is_told_back_and_its_next_loss_too(satellite):
    """Home Assistant reconnecting before the speaker's pipeline has heard that its old connection went
    (a restart of its integration, a busy speaker): the loss and the return are told in that order, and
    when it goes away again that is told too."""
    speaker = satellite.speaker
    rested(satellite)
    seen = settled(satellite)

    async def scenario() -> tuple[int, int]:
        with satellite.feeder.held():  # what the satellite tells the pipeline waits until audio flows again
            await asyncio.sleep(1)  # the audio in the pipe heard: the pipeline waits in its read
            first = await HomeAssistant(satellite).__aenter__()
            await first.leave()
            second = await HomeAssistant(satellite).__aenter__()
        back = await asyncio.to_thread(settled, satellite)
        await second.leave()
        return back, await asyncio.to_thread(settled, satellite)

    back, gone = asyncio.run(scenario())

    def told(since: int, until: int) -> list[str]:
        return [e["type"] if e["type"] != "error" else e["code"] for e in speaker.events[since:until]
                if e["type"] == "home_assistant_restored" or e.get("code") == "home_assistant_lost"]

    assert told(seen, back)[-2:] == ["home_assistant_lost", "home_assistant_restored"]
    assert told(back, gone) == ["home_assistant_lost"]


# -- a stranger's bytes ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, code, link", [
    (b"not json\n", "bad_event", True),
    (header(type="audio-start", data={"rate": 16000, "width": 4, "channels": 1}), "unsupported", True),
    (header(type="audio-start", data={"rate": "fast"}), "bad_event", True),
    (header(type="audio-chunk", payload_length=MAX_PAYLOAD * 2) + b"\0" * (MAX_PAYLOAD * 2), "too_large", True),
    (header(type="run-pipeline", data={}), "unsupported", True),
    (header(type="timer-finished", data={"id": "t1"}), "bad_event", False),  # a stranger's, not Home Assistant's
    (header(type="audio-start", data={"rate": 16000, "width": 2, "channels": 1}), "bad_event", False),
], ids=lambda value: value[:20].decode("latin-1") if isinstance(value, bytes) else str(value))
def test_a_bad_event_gets_an_error_and_the_satellite_goes_on(satellite, data, code, link):
    events = raw(satellite.satellite_port, data, first=RunSatellite().event() if link else None)
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].data["code"] == code, [e.type for e in events]
    assert events[-1].type == "info"


events = event_lines(["describe", "ping", "audio-start", "audio-chunk", "audio-stop", "synthesize", "transcript",
                      "voice-stopped", "error", "timer-started", "timer-finished", "timer-cancelled", "pause-satellite"],
                     ["text", "id", "name", "total_seconds", "rate", "width", "channels", "code"])


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.lists(events, min_size=1, max_size=5).map(b"".join))
def test_fuzzed_events_never_stop_the_satellite(satellite, data):
    assert raw(satellite.satellite_port, data)[-1].type == "info"
    assert satellite.speaker.proc.poll() is None
