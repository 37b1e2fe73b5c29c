"""The speaker on a real mosquitto broker: events out, commands in, Home Assistant, restarts,
auth, TLS, privacy, and speakers sharing one wake word. The link's own tests run it in this
process against the real broker; the end-to-end ones run `speaker run` (marked slow)."""

from __future__ import annotations

import dataclasses
import json
import queue
import re
import signal
import subprocess
import threading
import time
import wave

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from conftest import ROOT, SPEAKER, Mosquitto, free_port, recording, room, speaker_env, speech
from speaker import commands
from speaker.commands import Command, CommandName
from speaker.config import DeviceSettings, MqttSettings, Settings
from speaker.events import Device, Error, EventBus, Response, Transcript, Volume, Wake
from speaker.mqtt import MqttLink

slow = pytest.mark.slow


def until(condition, timeout: float = 20.0, what: str = "the condition"):
    """Poll `condition` until it returns something true (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Door:
    """The pipeline's command door: the real `commands.parse`; a refusal is answered with a
    `bad_command` error event, as the pipeline does. `broken`, when set, is called instead."""

    def __init__(self, bus: EventBus):
        self.bus = bus
        self.taken: queue.Queue[Command] = queue.Queue()
        self.broken = None

    def __call__(self, name: str, payload) -> bool:
        if self.broken is not None:
            return self.broken(name, payload)
        try:
            self.taken.put(commands.parse(name, payload))
            return True
        except commands.CommandError as e:
            self.bus.emit(Error(code="bad_command", message=f"{name}: {e}"))
            return False


class Home:
    """An MqttLink in this process on the real broker, with the pipeline's command door behind it."""

    def __init__(self, url: str, device: str = "test", start: bool = True, **mqtt_settings):
        self.bus = EventBus(device)
        self.events: list[dict] = []
        self.bus.subscribe(self.events.append)
        self.door = Door(self.bus)
        self.commands = self.door.taken
        self.yielded: list[str] = []
        settings = Settings(device_id=device, mqtt=MqttSettings(url=url, **mqtt_settings))
        self.link = MqttLink(settings, self.bus, self.door, yield_turn=self.yielded.append, wake_words=["hey_jarvis"])
        if start:
            self.link.start()
            until(lambda: self.link.connected, what="connecting")

    def command(self, timeout: float = 10.0) -> Command:
        return self.commands.get(timeout=timeout)

    def errors(self, code: str) -> list[dict]:
        return [e for e in self.events if e["type"] == "error" and e["code"] == code]

    def error(self, code: str, timeout: float = 20.0) -> dict:
        return until(lambda: self.errors(code), timeout, f"an error event {code}")[0]

    def close(self) -> None:
        self.link.close(patience=0.5)


@pytest.fixture
def home(broker):
    speaker = Home(broker.url)
    yield speaker
    speaker.close()


class Listener:
    """A home-bus client that records every message it sees."""

    def __init__(self, port: int, topics=("#",), client_id: str = "", clean: bool = True, tls_ca: str = "",
                 username: str = "", password: str = ""):
        self.messages: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload, m.retain))
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("localhost" if tls_ca else "127.0.0.1", port)
        self.client.loop_start()
        subscribed.wait(10)  # nothing sent from now on is missed

    def wait_for(self, predicate, timeout: float = 30.0):
        """The first new message (topic, payload, retain) for which predicate(topic, payload) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                topic, payload, retain = self.messages.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append((topic, payload, retain))
            if predicate(topic, payload):
                return topic, payload, retain
        raise AssertionError(f"no such message within {timeout} s; saw {[t for t, _, _ in self.seen][-20:]}")

    def drain(self, seconds: float) -> None:
        """Take in whatever arrives during the next `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.messages.get(timeout=0.1))
            except queue.Empty:
                pass

    def latest(self, topic: str):
        """The last message seen on `topic`, waiting for one if none came yet."""
        for seen in reversed(self.seen):
            if seen[0] == topic:
                return seen
        return self.wait_for(lambda t, p: t == topic)

    def event(self, device: str, kind: str, timeout: float = 30.0, **fields) -> dict:
        def match(topic, payload):
            if topic != f"speaker/{device}/event/{kind}":
                return False
            event = json.loads(payload)
            return all(event.get(k) == v for k, v in fields.items())
        return json.loads(self.wait_for(match, timeout)[1])

    def publish(self, topic: str, payload) -> None:
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        self.client.publish(topic, data, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


QUIET_VOICE = '[voice]\nengine = "espeak"\nwake_chime = false\ndone_chime = false\n'


class Daemon:
    """`speaker run --input -` fed with quiet room audio at `speed` x real time; speech can be slipped in."""

    def __init__(self, tmp_path, url: str, device: str = "test", extra_config: str = "", output: bool = False,
                 speed: float = 4.0):
        self.speed = speed
        self.conf = tmp_path / f"{device}.toml"
        # espeak-ng (the same audio every run) and no chimes: what is played is the answers alone
        self.conf.write_text(f'language = "ko"\ndevice_id = "{device}"\n{QUIET_VOICE}[mqtt]\nurl = "{url}"\n{extra_config}')
        self.jsonl = tmp_path / f"{device}.jsonl"
        self.output = tmp_path / f"{device}.wav" if output else None
        self.log = (tmp_path / f"{device}.log").open("wb")
        self.proc = subprocess.Popen([*SPEAKER, "run", "--config", str(self.conf), "--input", "-",
                                      "--events-jsonl", str(self.jsonl),
                                      *(["--output", str(self.output)] if output else [])],
                                     cwd=ROOT, env=speaker_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        self.pending: queue.Queue = queue.Queue()
        self.running = True
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def say(self, samples: np.ndarray) -> None:
        self.pending.put(samples)

    def _feed(self) -> None:
        quiet = room(0.08 * 5, seed=7).astype("<i2").tobytes()
        try:
            while self.running:
                try:
                    chunk = self.pending.get_nowait().astype("<i2").tobytes()
                except queue.Empty:
                    chunk = quiet
                for i in range(0, len(chunk), 2560 * 5):
                    self.proc.stdin.write(chunk[i:i + 2560 * 5])
                    self.proc.stdin.flush()
                    time.sleep(0.4 / self.speed)  # 0.4 s of audio each time
        except (BrokenPipeError, ValueError):
            pass

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; then the audio stops coming."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.running = False
        self.feeder.join(timeout=2)
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.log.close()

    def events(self) -> list[dict]:
        if not self.jsonl.exists():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.endswith("}")]


@pytest.fixture
def listener(broker):
    client = Listener(broker.port)
    yield client
    client.close()


@pytest.fixture
def daemon(tmp_path, broker, listener):
    speaker = Daemon(tmp_path, broker.url, output=True)
    listener.wait_for(lambda t, p: t == "speaker/test/state" and p == b"idle", timeout=60)
    yield speaker
    if speaker.proc.poll() is None:
        speaker.stop()


def certificates(folder):
    """A test CA and a certificate for `localhost` signed by it, in `folder`."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (folder / "ext").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext", "-out", "server.crt")
    return f"cafile {folder}/ca.crt\ncertfile {folder}/server.crt\nkeyfile {folder}/server.key\n"


# -- the link in this process, on the real broker -------------------------------------------------

DEEP = b"[" * 5000 + b"]" * 5000
HUGE = "9" * 401


@pytest.mark.parametrize("topic, payload, problem", [
    ("speaker/test/cmd/say", DEEP, "nested too deeply"),
    ("speaker/test/cmd/say", b'{"text": ' + DEEP + b"}", "nested too deeply"),
    ("speaker/test/cmd/volume", f'{{"level": {HUGE}}}', "401 digits"),
    ("speaker/test/cmd/volume", f'{{"level": {HUGE}.5}}', "characters"),
    ("speaker/test/cmd/volume", '{"level": NaN}', "not a number"),
    ("speaker/test/cmd/volume", '{"level": -Infinity}', "not a number"),
    ("speaker/test/cmd/volume", '{"level": 1e999}', "too large"),
    ("speaker/test/cmd/say", b"\xff\xfe", "not UTF-8"),
    ("speaker/test/cmd/say", b'{"text": "\xed\xa0\x80"}', "not UTF-8"),  # a surrogate, encoded
    ("speaker/test/cmd/say", '{"text": "caf\\ud800"}', "say needs its text in UTF-8"),  # escaped: never spoken as "�"
    ("speaker/test/cmd/say", json.dumps({"text": "x" * 70000}), "too large"),
    ("speaker/all/cmd/mute", "[1, 2]", "JSON object"),
    ("speaker/test/cmd/" + "x" * 5000, "{}", "unknown command"),
    ("speaker/arbitration", f'{{"device": "hall", "score": {HUGE}, "ts": 1}}', None),
    ("speaker/arbitration", '{"device": "hall", "score": NaN, "ts": 1}', None),
    ("speaker/arbitration", DEEP, None),
    ("speaker/arbitration", b"\xff", None),
    ("homeassistant/status", DEEP, None),
])
def test_no_message_can_stop_the_link(home, listener, topic, payload, problem):
    listener.publish(topic, payload)
    if problem:
        error = home.error("bad_command")
        assert problem in error["message"] and len(error["message"]) < 400
    listener.publish("speaker/test/cmd/volume", {"level": 42})  # still obeying
    assert home.command() == Command(CommandName.VOLUME, {"level": 42})
    assert home.link.client._thread.is_alive() and not home.errors("mqtt_failed")
    if not problem:
        assert not home.errors("bad_command")


def test_a_lone_surrogate_still_gives_an_error_event_everyone_can_read(home, listener, tmp_path):
    from speaker.events import JsonlWriter

    jsonl = (tmp_path / "events.jsonl").open("w", encoding="utf-8")
    home.bus.subscribe(JsonlWriter(jsonl))
    listener.publish("speaker/test/cmd/say", '{"\\ud800": 1}')
    _, payload, _ = listener.wait_for(lambda t, p: t == "speaker/test/event/error")
    error = json.loads(payload.decode("utf-8"))  # valid UTF-8, valid JSON
    assert error["code"] == "bad_command" and "does not take \ufffd" in error["message"]
    jsonl.close()
    written = json.loads((tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert written == error


def test_whatever_a_callback_raises_becomes_an_error_event_and_the_link_goes_on(home, listener):
    def broken(name, payload):
        raise RuntimeError("the door jammed")

    home.door.broken = broken
    listener.publish("speaker/test/cmd/stop", {})
    failed = home.error("mqtt_failed")
    assert "RuntimeError: the door jammed" in failed["message"]
    home.door.broken = None
    listener.publish("speaker/test/cmd/stop", {})
    assert home.command() == Command(CommandName.STOP, {})


def test_listen_is_not_taken_on_all_speakers_at_once(home, listener):
    listener.publish("speaker/all/cmd/listen", {})
    assert "every microphone" in home.error("bad_command")["message"]
    listener.publish("speaker/all/cmd/volume", {"level": 10})  # the rest is fine on all/
    assert home.command().name == "volume"
    listener.publish("speaker/test/cmd/listen", {})  # one speaker, by name
    assert home.command().name == "listen"


def test_room_commands_reach_the_speakers_of_that_room_only(broker, listener):
    kitchen = Home(broker.url, device="kitchen", room="kitchen")
    try:
        listener.publish("speaker/room/hall/cmd/volume", {"level": 5})
        listener.publish("speaker/room/kitchen/cmd/volume", {"level": 6})
        assert kitchen.command() == Command(CommandName.VOLUME, {"level": 6})  # the hall's came first, unseen
        assert kitchen.commands.empty()
    finally:
        kitchen.close()


def test_subscriptions_are_renewed_after_a_broker_restart(broker_dir):
    broker = Mosquitto(broker_dir).start()
    home = Home(broker.url)
    try:
        broker.stop()
        until(lambda: not home.link.connected, what="noticing the broker is gone")
        broker = Mosquitto(broker_dir, port=broker.port).start()
        until(lambda: home.link.connected, timeout=40, what="reconnecting")
        sender = Listener(broker.port)
        sender.publish("speaker/test/cmd/volume", {"level": 9})
        sender.close()
        assert home.command() == Command(CommandName.VOLUME, {"level": 9})
        assert len(home.errors("mqtt_lost")) == 1
    finally:
        home.close()
        broker.stop()


def test_an_unreachable_broker_is_reported_once_then_on_change(broker_dir):
    port = free_port()
    home = Home(f"mqtt://127.0.0.1:{port}", start=False)
    home.link.start()
    broker = None
    try:
        unreachable = home.error("mqtt_unreachable")
        assert f"127.0.0.1:{port}" in unreachable["message"]
        time.sleep(4.0)  # paho retries after 1, 2 and 4 s: no new event for the same problem
        assert len(home.errors("mqtt_unreachable")) == 1
        broker = Mosquitto(broker_dir, port=port).start()
        until(lambda: home.link.connected, timeout=40, what="connecting")
        broker.stop()
        home.error("mqtt_lost")
        until(lambda: len(home.errors("mqtt_unreachable")) == 2, timeout=20, what="unreachable again")
        assert len(home.errors("mqtt_lost")) == 1
    finally:
        home.close()
        if broker is not None:
            broker.stop()


def test_a_failed_tls_handshake_is_reported_once(broker_dir):
    broker = Mosquitto(broker_dir, extra=certificates(broker_dir)).start()
    home = Home(f"mqtts://localhost:{broker.port}", start=False)  # the system's CAs: the test CA is unknown
    home.link.start()
    try:
        failed = home.error("mqtt_tls")
        assert "certificate verify failed" in failed["message"]
        time.sleep(4.0)
        assert len(home.errors("mqtt_tls")) == 1 and not home.link.connected
    finally:
        home.close()
        broker.stop()


def test_events_kept_while_the_broker_is_away_and_those_dropped_are_counted(broker_dir):
    broker = Mosquitto(broker_dir).start()
    watcher = Listener(broker.port, topics=("speaker/test/event/#",), client_id="watcher", clean=False)
    watcher.drain(0.5)
    broker.stop()
    home = Home(broker.url, start=False, queue_limit=5)
    try:
        for level in range(12):
            home.bus.emit(Volume(level=level))
        broker = Mosquitto(broker_dir, port=broker.port).start()
        home.link.start()
        dropped = json.loads(watcher.wait_for(lambda t, p: t.endswith("/error"), timeout=40)[1])
        assert dropped["code"] == "events_dropped" and dropped["message"].startswith("7 events were dropped")
        watcher.drain(1.0)
        levels = sorted({json.loads(p)["level"] for t, p, _ in watcher.seen if t.endswith("/volume")})
        assert levels == [7, 8, 9, 10, 11]  # the 5 newest were kept
    finally:
        watcher.close()
        home.close()
        broker.stop()


def test_arbitration_claims_are_checked_and_expire(broker, listener):
    home = Home(broker.url, device="kitchen", arbitration_seconds=1.0)
    try:
        def claim(score, device="hall"):
            listener.publish("speaker/arbitration", f'{{"device": "{device}", "score": {score}, "ts": {time.time()}}}')

        def heard(score: float) -> str:
            turn = f"t{len(home.events)}"
            home.bus.emit(Wake(wake_word="hey_jarvis", score=score), turn)
            return turn

        for bad in ("NaN", "Infinity", "1e999", HUGE, '"1"', "5", "true", "-0.1"):
            claim(bad)  # would win every arbitration if it counted
        claim(0.9, device="")
        heard(0.5)
        time.sleep(2.5)  # the window, and more
        assert home.yielded == []  # nothing valid was louder
        claim(0.9)
        until(lambda: [c for c in home.link.arbitration.claims if c.device == "hall"], what="the claim arriving")
        time.sleep(2.5)
        heard(0.5)
        time.sleep(2.5)
        assert home.yielded == []  # a claim from before the window does not count
        louder = heard(0.5)
        claim(0.9)
        until(lambda: home.yielded == [louder], what="yielding to the louder speaker")
        time.sleep(2.5)  # that claim is old now
        heard(0.5)
        claim(0.3)
        time.sleep(2.5)
        assert home.yielded == [louder]  # a quieter rival leaves this one the answer
    finally:
        home.close()


def test_text_stays_off_the_retained_topics_unless_asked(broker, listener):
    long = "네. " * 200
    for retain in (False, True):
        device = f"retain{int(retain)}"
        home = Home(broker.url, device=device, retain_transcripts=retain)
        try:
            home.bus.emit(Transcript(text="내 이름은 민수야", final=True), "t")
            home.bus.emit(Response(text=long, final=True), "t")
            _, heard, was_retained = listener.wait_for(lambda t, p: t == f"speaker/{device}/transcript" and p)
            assert heard.decode() == "내 이름은 민수야" and not was_retained
            _, answer, _ = listener.wait_for(lambda t, p: t == f"speaker/{device}/response" and p)
            assert len(answer.decode()) == 255 and answer.decode().endswith("…")  # what Home Assistant takes
            assert json.loads(listener.latest(f"speaker/{device}/event/response")[1])["text"] == long  # whole
            late = Listener(broker.port, topics=(f"speaker/{device}/+",))
            late.drain(1.5)
            late.close()
            retained = {t: p for t, p, r in late.seen if r and p}
            assert (f"speaker/{device}/transcript" in retained) is retain
            assert (f"speaker/{device}/response" in retained) is retain
            assert retained[f"speaker/{device}/availability"] == b"online"
        finally:
            home.close()


def test_home_assistant_gets_qos_1_on_every_component(home, listener):
    _, payload, _ = listener.wait_for(lambda t, p: t == "homeassistant/device/speaker_test/config")
    components = json.loads(payload)["cmps"]
    assert components and all(c["qos"] == 1 for c in components.values())


def test_a_device_event_publishes_the_device_payload(broker, listener):
    lamp = DeviceSettings(names=("lamp", "램프"), topic="zigbee2mqtt/lamp/set")
    home = Home(broker.url, devices=(lamp,))
    try:
        home.bus.emit(Device(name="램프", on=True))
        home.bus.emit(Device(name="garage", on=True))  # not configured: nothing
        home.bus.emit(Device(name="lamp", on=False))
        _, on, _ = listener.wait_for(lambda t, p: t == "zigbee2mqtt/lamp/set")
        _, off, _ = listener.wait_for(lambda t, p: t == "zigbee2mqtt/lamp/set")
        assert (json.loads(on), json.loads(off)) == ({"state": "ON"}, {"state": "OFF"})
    finally:
        home.close()


def readme_acl() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"```\n(# mosquitto ACL.*?)```", text, re.DOTALL).group(1)


def test_the_acl_in_the_readme_limits_what_others_on_the_broker_can_do(broker_dir):
    for user, password in (("kitchen", "k1"), ("homeassistant", "h2"), ("guest", "g3")):
        subprocess.run(["mosquitto_passwd", *(["-c"] if user == "kitchen" else []), "-b",
                        str(broker_dir / "passwords"), user, password], check=True)
    (broker_dir / "acl").write_text(readme_acl())
    broker = Mosquitto(broker_dir, extra=f"password_file {broker_dir}/passwords\nacl_file {broker_dir}/acl\n")
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    broker.start()
    guest = Listener(broker.port, username="guest", password="g3")
    assistant = Listener(broker.port, username="homeassistant", password="h2")
    home = Home(f"mqtt://kitchen:k1@127.0.0.1:{broker.port}", device="kitchen", room="kitchen")
    try:
        assistant.wait_for(lambda t, p: t == "homeassistant/device/speaker_kitchen/config")
        guest.publish("speaker/kitchen/cmd/volume", {"level": 1})
        guest.publish("speaker/all/cmd/volume", {"level": 2})
        assistant.publish("speaker/kitchen/cmd/volume", {"level": 3})
        assert home.command() == Command(CommandName.VOLUME, {"level": 3})  # the guest's never came
        assistant.publish("speaker/room/kitchen/cmd/stop", {})
        assert home.command().name == "stop"
        home.bus.emit(Transcript(text="내 비밀", final=True), "t")
        assistant.wait_for(lambda t, p: t == "speaker/kitchen/event/transcript")
        home.bus.emit(Wake(wake_word="hey_jarvis", score=0.5), "w")
        guest.publish("speaker/arbitration", {"device": "guest", "score": 1, "ts": time.time()})
        guest.drain(1.5)
        assert guest.seen == [] and home.yielded == []  # the guest reads nothing and forges no claim
        assert home.commands.empty()
    finally:
        guest.close(), assistant.close()
        home.close()
        broker.stop()


# -- the whole speaker -----------------------------------------------------------------------------

@slow
def test_a_conversation_appears_on_the_bus_and_the_state_is_retained(daemon, listener, broker, hey_jarvis):
    daemon.say(recording(0.3, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 0.5))
    wake = listener.event("test", "wake")
    for kind in ("transcript", "intent", "response"):
        event = listener.event("test", kind, turn=wake["turn"], **({"final": True} if kind == "transcript" else {}))
    assert event["text"]
    listener.event("test", "state", state="speaking", turn=wake["turn"])
    listener.event("test", "state", state="idle")
    listener.wait_for(lambda t, p: t == "speaker/test/state" and p == b"idle")  # (a retained value that comes
    late = Listener(broker.port, topics=("speaker/test/+",))  # after `late` joins reaches it as not retained)
    late.drain(2.0)
    late.close()
    retained = {topic: payload for topic, payload, was_retained in late.seen if was_retained}
    assert retained == {"speaker/test/state": b"idle", "speaker/test/availability": b"online",
                        "speaker/test/volume": b"100", "speaker/test/muted": b"OFF"}  # no transcript by default
    assert daemon.stop() == 0
    listener.wait_for(lambda t, p: t == "speaker/test/availability" and p == b"offline")


def loudness(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(float) ** 2)))


def spectrum(samples: np.ndarray) -> np.ndarray:
    frames = samples[:len(samples) // 512 * 512].astype(float).reshape(-1, 512)
    average = np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0)
    return average / np.linalg.norm(average)


@slow
def test_every_command_works(daemon, listener, tmp_path):
    listener.publish("speaker/test/cmd/say", {"text": "저녁 준비 됐어요."})
    assert listener.event("test", "response")["text"] == "저녁 준비 됐어요."
    listener.event("test", "state", state="idle")
    listener.publish("speaker/all/cmd/volume", {"level": 30})
    assert listener.event("test", "volume")["level"] == 30
    listener.publish("speaker/test/cmd/volume", {"step": -10})
    assert listener.event("test", "volume")["level"] == 20
    listener.wait_for(lambda t, p: t == "speaker/test/volume" and p == b"20")
    listener.publish("speaker/test/cmd/mute", {})
    listener.event("test", "state", state="muted")
    listener.wait_for(lambda t, p: t == "speaker/test/muted" and p == b"ON")
    listener.publish("speaker/test/cmd/mute", {"mute": False})
    listener.event("test", "state", state="idle")
    listener.wait_for(lambda t, p: t == "speaker/test/muted" and p == b"OFF")
    listener.publish("speaker/test/cmd/listen", "")
    listener.event("test", "state", state="listening")
    listener.publish("speaker/test/cmd/stop", "{}")
    listener.event("test", "state", state="idle")
    listener.publish("speaker/test/cmd/unmute", {})  # not muted: nothing to do, no error
    listener.publish("speaker/test/cmd/say", {"text": "Hello there.", "language": "en", "volume": 50})
    assert listener.event("test", "response")["text"] == "Hello there."
    listener.event("test", "state", state="idle")
    daemon.conf.write_text(daemon.conf.read_text() + "[listen]\nsilence_seconds = 0.5\n")
    listener.publish("speaker/test/cmd/reload", {})
    assert listener.event("test", "reloaded")["config"] == str(daemon.conf)
    daemon.conf.write_text(daemon.conf.read_text() + "[listen]\nsilence_seconds = 0.6\n")  # a duplicate table
    listener.publish("speaker/test/cmd/reload", {})
    assert listener.event("test", "error")["code"] == "bad_config"
    assert daemon.stop() == 0
    assert not [e for e in daemon.events() if e["type"] == "error" and e["code"] != "bad_config"]

    # the English answer, at half volume: the end of what was played
    from speaker.voice import Voice

    with wave.open(str(daemon.output)) as played:
        rate, output = played.getframerate(), np.frombuffer(played.readframes(played.getnframes()), "<i2")
    references = {}
    for language in ("en", "ko"):
        voice = Voice(dataclasses.replace(Settings().voice, engine="espeak"), language)
        references[language] = voice.synthesize("Hello there.")
        assert getattr(voice, "rate", rate) == rate
        voice.close()
    english = output[-len(references["en"]) + 200:]
    assert 0.4 < loudness(english) / loudness(references["en"][200:]) < 0.6
    assert spectrum(english) @ spectrum(references["en"]) > spectrum(english) @ spectrum(references["ko"])


@slow
def test_garbage_is_answered_with_an_error_event_and_changes_nothing(daemon, listener):
    for topic, payload, problem in [
        ("speaker/test/cmd/say", b"{not json", "not a JSON object"),
        ("speaker/test/cmd/say", {"text": 5}, "non-empty text"),
        ("speaker/test/cmd/volume", {"level": "loud"}, "number"),
        ("speaker/test/cmd/dance", {}, "unknown command"),
        ("speaker/test/cmd/say", DEEP, "nested too deeply"),  # each of these three ended the link
        ("speaker/test/cmd/volume", f'{{"level": {HUGE}}}', "401 digits"),
        ("speaker/arbitration", f'{{"device": "hall", "score": {HUGE}, "ts": 1}}', None),
        ("speaker/test/cmd/say", '{"\\ud800": 1}', "does not take"),
        ("speaker/all/cmd/listen", {}, "every microphone"),
    ]:
        listener.publish(topic, payload)
        if problem:
            error = listener.event("test", "error")
            assert error["code"] == "bad_command" and problem in error["message"]
        listener.publish("speaker/test/cmd/volume", {"level": 42})  # still obeying
        assert listener.event("test", "volume")["level"] == 42
        listener.publish("speaker/test/cmd/volume", {"level": 41})
        assert listener.event("test", "volume")["level"] == 41


@slow
def test_the_last_will_says_offline_when_the_speaker_is_killed(daemon, listener):
    listener.latest("speaker/test/availability")
    daemon.proc.kill()  # kill -9: no goodbye of its own
    listener.wait_for(lambda t, p: t == "speaker/test/availability" and p == b"offline", timeout=60)


@slow
def test_home_assistant_discovery(daemon, listener, broker):
    topic = "homeassistant/device/speaker_test/config"
    listener.latest(topic)
    home_assistant = Listener(broker.port, topics=("homeassistant/#",))  # starts later: gets it retained
    _, payload, retain = home_assistant.wait_for(lambda t, p: t == topic)
    home_assistant.close()
    assert retain
    config = json.loads(payload)
    assert config["dev"]["ids"] == ["speaker_test"] and config["o"]["name"] == "speaker"
    assert config["availability_topic"] == "speaker/test/availability"
    platforms = {key: c["p"] for key, c in config["cmps"].items()}
    assert platforms == {"state": "sensor", "transcript": "sensor", "response": "sensor", "mute": "switch",
                         "volume": "number", "listen": "button", "stop": "button", "say": "notify",
                         "wake": "event", "timer": "event"}
    ids = [c["unique_id"] for c in config["cmps"].values()]
    assert len(set(ids)) == len(ids)
    assert config["cmps"]["wake"]["event_types"] == ["hey_jarvis"]
    # Home Assistant's switch and number really drive the speaker through their command topics
    mute = config["cmps"]["mute"]
    listener.publish(mute["command_topic"], mute["payload_on"])
    listener.event("test", "state", state="muted")
    listener.publish(mute["command_topic"], mute["payload_off"])
    listener.event("test", "state", state="idle")
    listener.publish(config["cmps"]["volume"]["command_topic"], '{"level": 55}')  # what the template renders
    assert listener.event("test", "volume")["level"] == 55
    # Home Assistant restarts: it says so, and the speaker announces itself again
    listener.publish("homeassistant/status", "online")
    listener.wait_for(lambda t, p: t == topic)


@slow
def test_a_broker_restart_mid_conversation_loses_no_event(tmp_path, broker_dir, hey_jarvis):
    broker = Mosquitto(broker_dir).start()
    watcher = Listener(broker.port, topics=("speaker/test/event/#",), client_id="watcher", clean=False)
    speaker = Daemon(tmp_path, broker.url)
    try:
        watcher.event("test", "state", state="idle", timeout=60)
        speaker.say(recording(0.3, hey_jarvis, 0.7))
        wake = watcher.event("test", "wake")
        broker.stop()  # the broker goes away while the user is talking
        speaker.say(recording(speech("이름이 뭐야", "ko+f3", 165), 0.5))
        time.sleep(4.0)
        broker = Mosquitto(broker_dir, port=broker.port).start()
        watcher.wait_for(lambda t, p: json.loads(p).get("state") == "idle", timeout=30)
        watcher.drain(3.0)  # across a reconnect QoS 1 keeps every message, not their order
        events, payloads = [], set()
        for _, payload, _ in watcher.seen:  # QoS 1 is "at least once": a message may come twice
            event = json.loads(payload)
            if payload not in payloads and (event["turn"] == wake["turn"] or event.get("state") == "idle"):
                payloads.add(payload)
                events.append(event)
        events.sort(key=lambda e: e["ts"])
        kinds = [e.get("state") or e["type"] for e in events if e["type"] not in ("transcript", "error")]
        assert kinds[kinds.index("wake"):] == ["wake", "listening", "thinking", "intent", "response", "speaking", "idle"]
        assert any(e["type"] == "transcript" and e["final"] for e in events)
        watcher.publish("speaker/test/cmd/volume", {"level": 12})  # and it still hears commands
        assert watcher.event("test", "volume", level=12)
    finally:
        watcher.close()
        assert speaker.stop() == 0
        broker.stop()


@slow
def test_password_and_acl(tmp_path, broker_dir, hey_jarvis):
    folder = broker_dir
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(folder / "passwords"), "kitchen", "s3cret"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(folder / "passwords"), "home", "h0me"], check=True)
    (folder / "acl").write_text("user kitchen\ntopic readwrite speaker/#\ntopic write homeassistant/#\n"
                                "topic read homeassistant/status\n\nuser home\ntopic read speaker/#\n")
    broker = Mosquitto(folder, extra=f"password_file {folder}/passwords\nacl_file {folder}/acl\n")
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    broker.start()
    watcher = Listener(broker.port, username="home", password="h0me")
    good = Daemon(tmp_path, f"mqtt://kitchen:s3cret@127.0.0.1:{broker.port}", device="kitchen")
    bad = Daemon(tmp_path, f"mqtt://kitchen:wrong@127.0.0.1:{broker.port}", device="intruder")
    try:
        watcher.wait_for(lambda t, p: t == "speaker/kitchen/availability" and p == b"online", timeout=60)
        good.say(recording(0.3, hey_jarvis, 0.7, speech("고마워", "ko+f3", 165), 0.5))
        assert watcher.event("kitchen", "intent")["name"] == "SpeakerThank"
        until(lambda: [e for e in bad.events() if e["type"] == "error"], timeout=30, what="the refusal")
        time.sleep(3.0)  # retries meanwhile
        assert bad.proc.poll() is None  # refused, but still running (and still a speaker by voice)
    finally:
        watcher.close()
        good.stop(), bad.stop()
        broker.stop()
    refused = [e for e in bad.events() if e["type"] == "error"]
    assert len(refused) == 1 and refused[0]["code"] == "mqtt_refused"  # once, not at every retry
    assert not [t for t, _, _ in watcher.seen if t.startswith("speaker/intruder/")]


@slow
def test_tls(tmp_path, broker_dir):
    broker = Mosquitto(broker_dir, extra=certificates(broker_dir)).start()
    watcher = Listener(broker.port, tls_ca=str(broker_dir / "ca.crt"))
    speaker = Daemon(tmp_path, f"mqtts://localhost:{broker.port}", extra_config=f'ca_file = "{broker_dir}/ca.crt"\n')
    try:
        watcher.wait_for(lambda t, p: t == "speaker/test/availability" and p == b"online", timeout=60)
        watcher.publish("speaker/test/cmd/volume", {"level": 7})
        assert watcher.event("test", "volume", level=7)["device"] == "test"
    finally:
        watcher.close()
        speaker.stop()
        broker.stop()


@slow
def test_two_speakers_never_both_answer_one_wake_word_and_the_one_that_heard_it_best_does(
        tmp_path, broker, listener, hey_jarvis):
    # the far one is named first: were the scores equal, the tie rule would make it the winner
    # in real time, as speakers hear it; two processes on a busy 2-core machine may hear it ~0.5 s apart
    window = "arbitration_seconds = 1.0\n"
    near = Daemon(tmp_path, broker.url, device="kitchen", extra_config=window, speed=1.0)
    far = Daemon(tmp_path, broker.url, device="attic", extra_config=window, speed=1.0)
    try:
        ready = set()  # two speakers loading their models at once take a while on 2 cores
        listener.wait_for(lambda t, p: (p == b"idle" and ready.add(t)) or len(ready) == 2, timeout=180)
        turn = recording(0.3, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 0.5)
        near.say(turn)
        far.say((turn * 0.25).astype(np.int16))  # the attic hears it from further away

        def settled():
            heard = [[e for e in s.events() if e["type"] == "wake"] for s in (near, far)]
            done = [[e for e in s.events() if e["type"] == "state" and e["state"] == "idle" and e["turn"] is None]
                    for s in (near, far)]
            return all(heard) and all(len(d) >= 2 for d in done) and (heard, done)

        until(settled, timeout=90, what="both speakers hearing the wake word and going back to idle")
    finally:
        near.stop(), far.stop()
    wakes = {d: [e for e in s.events() if e["type"] == "wake"] for d, s in (("kitchen", near), ("attic", far))}
    answered = {d: [e for e in s.events() if e["type"] == "response"] for d, s in (("kitchen", near), ("attic", far))}
    assert wakes["kitchen"][0]["score"] > wakes["attic"][0]["score"]
    assert len(answered["kitchen"]) == 1 and answered["attic"] == []


@slow
def test_a_voice_command_switches_a_device(tmp_path, broker, listener, hey_jarvis):
    devices = ('[[mqtt.devices]]\nnames = ["거실 불", "living room light"]\ntopic = "zigbee2mqtt/living_room/set"\n')
    speaker = Daemon(tmp_path, broker.url, device="hall", extra_config=devices)
    try:
        listener.wait_for(lambda t, p: t == "speaker/hall/state" and p == b"idle", timeout=60)
        speaker.say(recording(0.3, hey_jarvis, 0.7, speech("거실 불 켜줘", "ko+f3", 165), 0.5))
        # only the grammar pass hears espeak-ng's Korean: "거실 불 켜줘, 할까요?", and a yes switches it
        assert listener.event("hall", "intent")["slots"] == {"heard": "거실 불 켜줘"}
        listener.event("hall", "state", state="listening")  # the answer, without the wake word
        assert not any(t == "zigbee2mqtt/living_room/set" for t, _, _ in listener.seen)
        speaker.say(recording(0.3, speech("좋아", "ko+f3", 165), 0.5))
        done = listener.event("hall", "intent")  # the yes is told as what it did
        assert (done["name"], done["slots"]) == ("HassTurnOn", {"device": "거실 불"})
        _, payload, _ = listener.wait_for(lambda t, p: t == "zigbee2mqtt/living_room/set")
        assert json.loads(payload) == {"state": "ON"}
        assert listener.event("hall", "response")["text"].startswith(("거실 불 켰어요", "네, 거실 불 켰어요"))
    finally:
        speaker.stop()
