"""Property-based fuzzing of everything a stranger can hand the speaker: every MQTT topic and
payload it subscribes to, the settings file and a persona file. Zero crashes; every refusal is a
clear error (an `error` event, a ConfigError) with a message.

The quick runs take 300 cases each. The slow ones (marked slow) take 2,500 each, 10,000 in all,
which keeps this file to a few minutes in CI; SPEAKER_FUZZ_CASES=10000 runs 10,000 each.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import Mosquitto
from test_mqtt import Door, Home, Listener, until
from speaker.commands import CommandName
from speaker.config import ConfigError, MqttSettings, Settings, load
from speaker.dialogue import persona
from speaker.events import EventBus, to_json
from speaker.mqtt import MAX_PAYLOAD, MqttLink

QUICK, SLOW = 300, int(os.environ.get("SPEAKER_FUZZ_CASES", "2500"))
FUZZ = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def quick_and_slow(test, **strategies):
    """The same property, run quickly and then (marked slow) SLOW times."""
    quick = settings(max_examples=QUICK, **FUZZ)(given(**strategies)(test))
    slow = pytest.mark.slow(settings(max_examples=SLOW, **FUZZ)(given(**strategies)(test)))
    return quick, slow


# -- what may arrive on the bus ------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-10 ** 500, max_value=10 ** 500)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
keys = st.sampled_from(["text", "language", "volume", "level", "step", "mute", "device", "on", "score", "ts"])
commandish = st.dictionaries(keys | st.text(max_size=5), json_values, max_size=4)


def encoded(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


deep = st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n)
huge_number = st.integers(300, 5000).map(lambda n: b'{"level": ' + b"9" * n + b"}")
payloads = (commandish.map(encoded) | json_values.map(encoded) | st.binary(max_size=200) | deep | huge_number
            | st.sampled_from([b"", b"NaN", b"Infinity", b"-Infinity", b"1e999", b"online", b"{}", b"null",
                               b'{"\\ud800": 1}', b"\xed\xa0\x80", b"x" * (MAX_PAYLOAD + 1)]))
names = st.sampled_from(list(CommandName)) | st.text(max_size=20).filter(lambda t: "/" not in t)
topics = (names.map(lambda n: f"speaker/test/cmd/{n}") | names.map(lambda n: f"speaker/all/cmd/{n}")
          | names.map(lambda n: f"speaker/room/kitchen/cmd/{n}")
          | st.sampled_from(["speaker/arbitration", "homeassistant/status"]))
claims = st.fixed_dictionaries({"device": json_values, "score": json_values, "ts": json_values}).map(encoded)


@pytest.fixture(scope="module")
def link():
    """A link that is never connected: `receive` is what paho's on_message calls."""
    bus = EventBus("test")
    events: list[dict] = []
    bus.subscribe(events.append)
    door = Door(bus)
    settings_ = Settings(device_id="test", mqtt=MqttSettings(url="mqtt://127.0.0.1:1", room="kitchen",
                                                             queue_limit=10))
    yield MqttLink(settings_, bus, door, yield_turn=lambda turn: None, wake_words=["hey_jarvis"]), events, door


def receive_anything(link, topic, payload):
    mqtt_link, events, door = link
    events.clear()
    door.taken.queue.clear()
    mqtt_link.receive(topic, payload)  # must not raise, whatever arrives
    for event in events:
        assert event["type"] == "error" and event["code"] == "bad_command" and event["message"].strip()
        to_json(event).encode("utf-8")  # encodable, strictly
    for command in list(door.taken.queue):
        assert command.name in CommandName
        assert all(not isinstance(v, float) or math.isfinite(v) for v in command.args.values())
    if topic.startswith("speaker/") and "/cmd/" in topic:
        assert len(events) + door.taken.qsize() == 1  # either obeyed or refused, never silently lost


test_every_topic_and_payload_quick, test_every_topic_and_payload_slow = quick_and_slow(
    receive_anything, topic=topics, payload=payloads)


def remember_any_claim(link, payload):
    mqtt_link, events, _ = link
    mqtt_link.arbitration.claims.clear()
    mqtt_link.receive("speaker/arbitration", payload)
    for claim in mqtt_link.arbitration.claims:
        assert isinstance(claim.device, str) and 0 <= claim.score <= 1 and math.isfinite(claim.score)


test_every_claim_quick, test_every_claim_slow = quick_and_slow(remember_any_claim, payload=claims | payloads)


def test_fuzzing_through_a_real_broker_leaves_the_link_obeying(broker_dir):
    """The same payloads through mosquitto and paho's own callback: the link still obeys after."""
    broker = Mosquitto(broker_dir).start()
    home = Home(broker.url, room="kitchen")
    sender = Listener(broker.port, topics=("nothing/here",))
    sent = []

    @settings(max_examples=200, **FUZZ)
    @given(topic=topics.filter(lambda t: t.isprintable() and not set(t) & set("+#")), payload=payloads)  # what a broker passes on
    def publish(topic, payload):
        sender.client.publish(topic, payload, qos=1).wait_for_publish(5)
        sent.append(topic)

    try:
        publish()
        sender.publish("speaker/test/cmd/volume", {"level": 77})
        until(lambda: any(c.name == "volume" and c.args == {"level": 77} for c in list(home.commands.queue)),
              timeout=60, what="the last command")
        assert home.link.client._thread.is_alive() and not home.errors("mqtt_failed") and len(sent) == 200
    finally:
        sender.close()
        home.close()
        broker.stop()


# -- the settings file and the persona file ----------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (a lone surrogate makes it invalid TOML: refused too)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(tables: dict) -> str:
    lines = []
    for key, value in tables.items():
        if isinstance(value, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()]
        else:
            lines.insert(0, f"{json.dumps(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


toml_scalars = (st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.floats() | st.text(max_size=20))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
SECTIONS = {name: [f.name for f in dataclasses.fields(getattr(Settings(), name))]
            for name in ("audio", "wake", "listen", "stt", "voice", "mqtt", "gpio", "llm", "log")}
section_tables = st.sampled_from(sorted(SECTIONS)).flatmap(
    lambda name: st.tuples(st.just(name), st.dictionaries(st.sampled_from(SECTIONS[name]) | st.text(max_size=6),
                                                          toml_values, max_size=4)))
config_documents = st.tuples(
    st.dictionaries(st.sampled_from(["language", "device_id", "persona"]) | st.text(max_size=6), toml_values,
                    max_size=3),
    st.lists(section_tables, max_size=4),
).map(lambda parts: toml_document({**parts[0], **dict(parts[1])}))
files = config_documents.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary(max_size=300)


def loaded_or_refused(loader, tmp_path_factory, name: str, data: bytes):
    """What `loader` makes of `data` as the file `name`, or None where it refused it with a
    ConfigError whose every problem names the file."""
    path = tmp_path_factory.getbasetemp() / name
    path.write_bytes(data)
    try:
        return loader(path)
    except ConfigError as e:
        assert e.problems and all(str(path) in p and p.strip() for p in e.problems)
        return None


def load_any_config(tmp_path_factory, data):
    settings_ = loaded_or_refused(load, tmp_path_factory, "fuzzed-speaker.toml", data)
    assert settings_ is None or isinstance(settings_, Settings)


test_the_config_loader_quick, test_the_config_loader_slow = quick_and_slow(load_any_config, data=files)

LINE_KEYS = sorted(persona.LINES)
persona_lines = st.dictionaries(
    st.sampled_from(LINE_KEYS) | st.text(max_size=6),
    st.lists(st.text(max_size=12) | st.sampled_from(["{name}", "{user}", "{time}", "{", "}", "{0}", "{a!x}", "{:>{}}"]),
             max_size=3)
    | st.dictionaries(st.sampled_from(["morning", "afternoon", "evening", "night", "anytime"]) | st.text(max_size=5),
                      st.lists(st.text(max_size=12), max_size=2), max_size=3)
    | toml_scalars, max_size=4)
persona_documents = st.fixed_dictionaries(
    {}, optional={"language": st.sampled_from(["en", "ko"]) | toml_values, "name": toml_values,
                  "prompt": toml_values, "lines": persona_lines | toml_values,
                  "voice": st.dictionaries(st.sampled_from(["voice", "rate", "pitch", "volume"]) | st.text(max_size=5),
                                           toml_values, max_size=4) | toml_values},
).map(toml_document)
persona_files = persona_documents.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary(max_size=300)


def load_any_persona(tmp_path_factory, data):
    loaded = loaded_or_refused(persona.load, tmp_path_factory, "fuzzed-persona.toml", data)
    assert loaded is None or (loaded.language in ("en", "ko") and set(persona.LINES) <= set(loaded.lines))


test_the_persona_loader_quick, test_the_persona_loader_slow = quick_and_slow(
    load_any_persona, data=persona_files)

