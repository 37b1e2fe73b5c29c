"""The speaker on a real mosquitto broker: events out, commands in, Home Assistant, restarts,
auth, TLS, and two speakers sharing one wake word."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from conftest import ROOT, SPEAKER, Mosquitto, recording, room, speech

pytestmark = pytest.mark.slow


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
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload, m.retain))
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("localhost" if tls_ca else "127.0.0.1", port)
        self.client.loop_start()

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


class Daemon:
    """`speaker run --input -` fed with quiet room audio at 4x real time; speech can be slipped in."""

    def __init__(self, tmp_path, url: str, device: str = "test", extra_config: str = ""):
        conf = tmp_path / f"{device}.toml"
        conf.write_text(f'language = "ko"\ndevice_id = "{device}"\n[mqtt]\nurl = "{url}"\n{extra_config}')
        self.jsonl = tmp_path / f"{device}.jsonl"
        self.log = (tmp_path / f"{device}.log").open("wb")
        self.proc = subprocess.Popen([*SPEAKER, "run", "--config", str(conf), "--input", "-",
                                      "--events-jsonl", str(self.jsonl)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log)
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
                    time.sleep(0.1)  # 0.4 s of audio every 0.1 s
        except (BrokenPipeError, ValueError):
            pass

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; then the audio stops coming."""
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
        return [json.loads(line) for line in self.jsonl.read_text().splitlines()]


@pytest.fixture
def listener(broker):
    client = Listener(broker.port)
    yield client
    client.close()


@pytest.fixture
def daemon(tmp_path, broker, listener):
    speaker = Daemon(tmp_path, broker.url)
    listener.wait_for(lambda t, p: t == "speaker/test/state" and p == b"idle", timeout=60)
    yield speaker
    if speaker.proc.poll() is None:
        speaker.stop()


def test_a_conversation_appears_on_the_bus_and_the_state_is_retained(daemon, listener, broker, hey_jarvis):
    daemon.say(recording(0.3, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 0.5))
    wake = listener.event("test", "wake")
    for kind in ("transcript", "intent", "response"):
        event = listener.event("test", kind, turn=wake["turn"], **({"final": True} if kind == "transcript" else {}))
    assert event["text"]
    listener.event("test", "state", state="speaking", turn=wake["turn"])
    listener.event("test", "state", state="idle")
    late = Listener(broker.port, topics=("speaker/test/+",))  # joins later: sees the retained values
    retained = {}
    while len(retained) < 5:
        topic, payload, was_retained = late.wait_for(lambda t, p: True, timeout=10)
        assert was_retained
        retained[topic] = payload
    late.close()
    assert retained["speaker/test/state"] == b"idle"
    assert retained["speaker/test/availability"] == b"online"
    assert retained["speaker/test/transcript"].decode() == "지금 몇 시야"
    assert retained["speaker/test/volume"] == b"100"
    assert daemon.stop() == 0
    listener.wait_for(lambda t, p: t == "speaker/test/availability" and p == b"offline")


def test_every_command_works(daemon, listener):
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
    listener.publish("speaker/test/cmd/listen", "")
    listener.event("test", "state", state="listening")
    listener.publish("speaker/test/cmd/stop", "{}")
    listener.event("test", "state", state="idle")
    listener.publish("speaker/test/cmd/unmute", {})  # not muted: nothing to do, no error
    listener.publish("speaker/test/cmd/say", {"text": "Hello there.", "language": "en", "volume": 50})
    assert listener.event("test", "response")["text"] == "Hello there."


@pytest.mark.parametrize("topic, payload, problem", [
    ("speaker/test/cmd/say", b"{not json", "not a JSON object"),
    ("speaker/test/cmd/say", b"\xff\xfe", "not a JSON object"),
    ("speaker/test/cmd/say", {"text": 5}, "non-empty text"),
    ("speaker/test/cmd/volume", {"level": "loud"}, "number"),
    ("speaker/test/cmd/dance", {}, "unknown command"),
    ("speaker/test/cmd/say", json.dumps({"text": "x" * 70000}), "too large"),
    ("speaker/all/cmd/mute", [1, 2], "JSON object"),
])
def test_garbage_is_answered_with_an_error_event_and_changes_nothing(daemon, listener, topic, payload, problem):
    listener.publish(topic, payload)
    error = listener.event("test", "error")
    assert error["code"] == "bad_command" and problem in error["message"]
    listener.publish("speaker/test/cmd/volume", {"level": 42})  # still obeying
    assert listener.event("test", "volume")["level"] == 42


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
        kinds = [e.get("state") or e["type"] for e in events if e["type"] != "transcript"]
        assert kinds[kinds.index("wake"):] == ["wake", "listening", "thinking", "intent", "response", "speaking", "idle"]
        assert any(e["type"] == "transcript" and e["final"] for e in events)
    finally:
        watcher.close()
        assert speaker.stop() == 0
        broker.stop()


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
        time.sleep(1.0)
        assert bad.proc.poll() is None  # refused, but still running (and still a speaker by voice)
    finally:
        watcher.close()
        good.stop(), bad.stop()
        broker.stop()
    refused = [e for e in bad.events() if e["type"] == "error"]
    assert refused and refused[0]["code"] == "mqtt_refused"
    assert not [t for t, _, _ in watcher.seen if t.startswith("speaker/intruder/")]


def test_tls(tmp_path, broker_dir):
    folder = broker_dir

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (folder / "ext").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext", "-out", "server.crt")
    broker = Mosquitto(folder, extra=f"cafile {folder}/ca.crt\ncertfile {folder}/server.crt\nkeyfile {folder}/server.key\n")
    broker.start()
    watcher = Listener(broker.port, tls_ca=str(folder / "ca.crt"))
    speaker = Daemon(tmp_path, f"mqtts://localhost:{broker.port}", extra_config=f'ca_file = "{folder}/ca.crt"\n')
    try:
        watcher.wait_for(lambda t, p: t == "speaker/test/availability" and p == b"online", timeout=60)
        watcher.publish("speaker/test/cmd/volume", {"level": 7})
        assert watcher.event("test", "volume", level=7)["device"] == "test"
    finally:
        watcher.close()
        speaker.stop()
        broker.stop()


def test_two_speakers_never_both_answer_one_wake_word(tmp_path, broker, listener, hey_jarvis):
    a, b = Daemon(tmp_path, broker.url, device="hall"), Daemon(tmp_path, broker.url, device="kitchen")
    try:
        for device in ("hall", "kitchen"):
            assert listener.latest(f"speaker/{device}/state")[1] == b"idle"
        turn = recording(0.3, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 0.5)
        a.say(turn)
        b.say((turn * 0.5).astype(np.int16))  # the kitchen hears it from further away
        time.sleep(12)
    finally:
        a.stop(), b.stop()
    answered = {d: [e for e in s.events() if e["type"] == "response"] for d, s in (("hall", a), ("kitchen", b))}
    assert [len(answered["hall"]), len(answered["kitchen"])].count(1) == 1
    assert sum(len(v) for v in answered.values()) == 1


def test_a_voice_command_switches_a_device(tmp_path, broker, listener, hey_jarvis):
    devices = ('[[mqtt.devices]]\nnames = ["거실 불", "living room light"]\ntopic = "zigbee2mqtt/living_room/set"\n')
    speaker = Daemon(tmp_path, broker.url, device="hall", extra_config=devices)
    try:
        listener.wait_for(lambda t, p: t == "speaker/hall/state" and p == b"idle", timeout=60)
        speaker.say(recording(0.3, hey_jarvis, 0.7, speech("거실 불 켜줘", "ko+f3", 165), 0.5))
        _, payload, _ = listener.wait_for(lambda t, p: t == "zigbee2mqtt/living_room/set")
        assert json.loads(payload) == {"state": "ON"}
        assert listener.event("hall", "response")["text"].startswith(("거실 불 켰어요", "네, 거실 불 켰어요"))
    finally:
        speaker.stop()
