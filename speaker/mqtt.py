"""The speaker on the home bus: every event out, commands in, Home Assistant discovery, and
arbitration when several speakers hear one wake word.

Topics (prefix "speaker" by default, <base> = <prefix>/<device_id>):
  <base>/event/<type>              every event, JSON, QoS 1
  <base>/state                     current state, retained (also volume, muted; transcript and
                                   response only with mqtt.retain_transcripts)
  <base>/availability              online / offline (retained; offline is the last will)
  <base>/cmd/<name>                commands, JSON (also <prefix>/all/cmd/<name>, <prefix>/room/<room>/cmd/<name>)
  <prefix>/arbitration             wake claims shared by the speakers of one home

Nothing that arrives can stop the link: every payload is read with bounded size, depth and
numbers (`read_payload`), and every callback answers whatever goes wrong with an error event.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import re
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from . import __version__
from .commands import CommandName
from .config import Settings
from .events import Event, EventBus, EventType, ErrorCode, State, clean, to_json

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024  # bytes
MAX_DEPTH = 16  # nested arrays and objects
MAX_DIGITS = 30  # digits of one number
HOME_ASSISTANT_STATE = 255  # characters Home Assistant accepts as a sensor's state
RETAINED_TEXT = {EventType.TRANSCRIPT: "transcript", EventType.RESPONSE: "response"}  # event -> topic
NOT_FOR_ALL = {CommandName.LISTEN}  # would open every microphone in the home at once

_SIGNIFICANT = re.compile(r'["\\\[\]{}]')  # what `_depth` needs to see of a JSON text


class PayloadError(ValueError):
    """A payload that is not JSON the speaker is willing to read."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise PayloadError(f"a number of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS})")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_DIGITS + 10:
        raise PayloadError(f"a number written with {len(text)} characters (at most {MAX_DIGITS + 10})")
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"{text[:20]} is too large a number")
    return value


def _constant(text: str):
    raise PayloadError(f"{text} is not a number (only finite numbers are accepted)")


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text`, in one pass (it stops past MAX_DEPTH)."""
    depth = deepest = 0
    in_string, escaped_at = False, -1
    for match in _SIGNIFICANT.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        else:
            depth -= 1
    return deepest


def read_payload(data: bytes):
    """The JSON value in an MQTT payload (an empty payload is {}). Raises PayloadError, with the
    reason, for one too large, not UTF-8, not JSON, nested too deep, or with a number that is too
    long or not finite. Lone surrogates in strings become U+FFFD."""
    if len(data) > MAX_PAYLOAD:
        raise PayloadError(f"payload too large ({len(data)} bytes, at most {MAX_PAYLOAD})")
    try:
        text = bytes(data).decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise PayloadError(f"not a JSON object (not UTF-8: {e.reason} at byte {e.start})") from None
    if not text:
        return {}
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise PayloadError(f"nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise PayloadError(f"not a JSON object ({e.msg} at character {e.pos})") from None
    except RecursionError:  # cannot happen within MAX_DEPTH; kept as the last line of defence
        raise PayloadError("nested too deeply") from None
    return clean(value)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class Claim:
    """One speaker's word that it heard the wake word, and how well (0-1)."""

    device: str
    score: float
    received: float  # time.monotonic() here when it arrived: claims only count while fresh


def read_claim(data: bytes) -> Claim:
    """A claim from the arbitration topic; PayloadError if it is not a valid one."""
    value = read_payload(data)
    if not isinstance(value, dict):
        raise PayloadError("a claim is a JSON object")
    device, score = value.get("device"), value.get("score")
    if not isinstance(device, str) or not 0 < len(device) <= 128:
        raise PayloadError("a claim needs a device (1-128 characters)")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise PayloadError("a claim needs a score between 0 and 1")
    return Claim(device, float(score), time.monotonic())


class MqttLink:
    """Listens to the bus and publishes; receives commands and hands them to `submit`."""

    def __init__(self, settings: Settings, bus: EventBus, submit: Callable[[str, dict], bool],
                 yield_turn: Callable[[str], None], wake_words: list[str]):
        self.settings = settings.mqtt
        self.device = settings.device_id
        self.bus = bus
        self.submit = submit
        self.yield_turn = yield_turn
        self.wake_words = wake_words
        prefix = self.settings.prefix
        self.base = f"{prefix}/{self.device}"
        self.connected = False
        self.dropped = 0
        self._lock = threading.RLock()
        self._backlog: collections.deque[tuple[str, str]] = collections.deque()  # events kept while away
        self._retained: dict[str, str] = {}  # latest value of every retained topic, re-sent on connect
        self._claims: collections.deque[Claim] = collections.deque(maxlen=64)
        self._trouble: tuple[str, str] | None = None  # the connection problem last reported
        self._closing = False
        self._arbitration = f"{prefix}/arbitration"
        self._home_assistant = f"{self.settings.discovery_prefix}/status"
        self._for_all = f"{prefix}/all/cmd/"
        broker = self.settings.broker()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"speaker-{self.device}",
                                  protocol=mqtt.MQTTv311)
        self.client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls or self.settings.ca_file:
            self.client.tls_set(ca_certs=self.settings.ca_file or None, certfile=self.settings.cert_file or None,
                                keyfile=self.settings.key_file or None)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._guard(self._on_connect)
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._guard(self._on_disconnect)
        self.client.on_message = self._guard(self._on_message)
        self.broker = broker

        bus.subscribe(self)  # events before the first connection wait in the backlog

    def start(self) -> None:
        """Connect in the background; reconnects by itself, with back-off, for as long as it runs."""
        log.info("MQTT: connecting to %s:%s", self.broker.host, self.broker.port)
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def close(self, patience: float = 5.0) -> None:
        """Deliver what is still waiting (for up to `patience` seconds if the broker is away),
        say goodbye (retained `offline`) and disconnect."""
        deadline = time.monotonic() + patience
        while not self.connected and self._backlog and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closing = True
        if self.connected:
            goodbye = self.client.publish(f"{self.base}/availability", "offline", qos=1, retain=True)
            goodbye.wait_for_publish(max(0.5, deadline - time.monotonic()))  # QoS 1 in order: all before it are out
        self.client.disconnect()
        self.client.loop_stop()

    def _guard(self, callback):
        """`callback` for paho: whatever it raises becomes an error event, never paho's problem
        (an exception would end paho's thread, and the link with it)."""

        def guarded(*args) -> None:
            try:
                callback(*args)
            except Exception as e:
                self._failed(callback.__name__, e)

        return guarded

    def _failed(self, where: str, error: Exception) -> None:
        try:
            log.exception("MQTT: %s failed", where)
            self.bus.emit(EventType.ERROR, code=ErrorCode.MQTT_FAILED,
                          message=shorten(f"{where.strip('_')}: {type(error).__name__}: {error}", 300))
        except Exception:
            pass  # nothing more can be done, and paho's thread must go on

    # -- events out -------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        self._publish(f"{self.base}/event/{kind}", to_json(event))
        if kind == EventType.STATE:
            self._publish_retained("state", str(event["state"]))
            muted = event.get("muted")
            if muted is None and event["state"] in (State.MUTED, State.IDLE):  # from a pipeline without the field
                muted = event["state"] == State.MUTED
            if muted is not None:
                self._publish_retained("muted", "ON" if muted else "OFF")
        elif kind == EventType.VOLUME:
            self._publish_retained("volume", str(event["level"]))
        elif kind in RETAINED_TEXT and (kind != EventType.TRANSCRIPT or event.get("final")):
            text = shorten(str(event.get("text") or ""), HOME_ASSISTANT_STATE)
            if self.settings.retain_transcripts:
                self._publish_retained(RETAINED_TEXT[kind], text)
            else:  # live only: a client that joins later finds nothing
                self._publish(f"{self.base}/{RETAINED_TEXT[kind]}", text)
        elif kind == EventType.WAKE:
            self._claim(event)
        elif kind == EventType.DEVICE:
            self._switch(event)

    def _publish(self, topic: str, payload: str) -> None:
        with self._lock:
            if self.connected:
                self.client.publish(topic, payload, qos=1)
                return
            if len(self._backlog) >= self.settings.queue_limit:
                self._backlog.popleft()
                self.dropped += 1
            self._backlog.append((topic, payload))

    def _publish_retained(self, name: str, value: str) -> None:
        topic = f"{self.base}/{name}"
        with self._lock:
            if self._retained.get(topic) == value:
                return
            self._retained[topic] = value
            if self.connected:
                self.client.publish(topic, value, qos=1, retain=True)

    def _switch(self, event: Event) -> None:
        """A device of the home to turn on or off (a `device` event: the user asked by voice, or a
        `switch` command): publish the configured payload of the device named."""
        for device in self.settings.devices:
            if event["device"] in device.names:
                self._publish(device.topic, device.on if event["on"] else device.off)
                return
        log.warning("MQTT: no [[mqtt.devices]] entry is called %r", event["device"])

    # -- connection ---------------------------------------------------------------------------

    def _report(self, code: ErrorCode, message: str) -> None:
        """A connection problem: told once, and again only when it changes."""
        with self._lock:
            if self._trouble == (code, message):
                return
            self._trouble = (code, message)
        log.error("MQTT: %s", message)
        self.bus.emit(EventType.ERROR, code=code, message=message)

    def _on_connect_fail(self, _client, _userdata) -> None:
        try:
            error = sys.exc_info()[1]  # paho calls this while it handles the error
            where = f"{self.broker.host}:{self.broker.port}"
            if isinstance(error, ssl.SSLError):
                self._report(ErrorCode.MQTT_TLS, f"the TLS handshake with the broker at {where} failed: {error}")
            else:
                self._report(ErrorCode.MQTT_UNREACHABLE, f"cannot reach the broker at {where}: {error or 'no answer'}"
                             "; trying again")
        except Exception as e:
            self._failed("on_connect_fail", e)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._report(ErrorCode.MQTT_REFUSED, f"the broker refused the connection: {reason_code}")
            return
        prefix = self.settings.prefix
        topics = [f"{self.base}/cmd/+", f"{prefix}/all/cmd/+", self._arbitration]
        if self.settings.room:
            topics.append(f"{prefix}/room/{self.settings.room}/cmd/+")
        if self.settings.discovery:
            topics.append(self._home_assistant)
        client.subscribe([(t, 1) for t in topics])
        with self._lock:
            client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
            if self.settings.discovery:
                self._announce()
            if not self.settings.retain_transcripts:  # what an older version left on the broker
                for name in RETAINED_TEXT.values():
                    client.publish(f"{self.base}/{name}", "", qos=1, retain=True)
            for topic, value in self._retained.items():
                client.publish(topic, value, qos=1, retain=True)
            while self._backlog:
                client.publish(*self._backlog.popleft(), qos=1)
            self.connected = True
            self._trouble = None
            dropped, self.dropped = self.dropped, 0
        log.info("MQTT: connected to %s:%s", self.broker.host, self.broker.port)
        if dropped:
            self.bus.emit(EventType.ERROR, code=ErrorCode.EVENTS_DROPPED,
                          message=f"{dropped} events were dropped while the broker was away (mqtt.queue_limit)")

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        with self._lock:
            was, self.connected = self.connected, False
        if was and not self._closing:
            self._report(ErrorCode.MQTT_LOST, f"lost the broker ({reason_code}); keeping events until it is back")

    # -- commands in ----------------------------------------------------------------------------

    def _on_message(self, _client, _userdata, message) -> None:
        self.receive(message.topic, message.payload)

    def receive(self, topic: str, payload: bytes) -> None:
        """One message on a subscribed topic: a command, a claim or Home Assistant's status.
        Anything wrong with it is answered with an error event; nothing in it can raise."""
        if topic == self._home_assistant:
            if payload == b"online":
                with self._lock:
                    self._announce()
            return
        if topic == self._arbitration:
            self._remember_claim(payload)
            return
        name = shorten(topic.rsplit("/", 1)[-1], 40)
        try:
            value = read_payload(payload)
        except PayloadError as e:
            log.warning("MQTT: bad command on %s: %s", shorten(topic, 200), e)
            self.bus.emit(EventType.ERROR, code=ErrorCode.BAD_COMMAND, message=f"{name}: {e}")
            return
        if name in NOT_FOR_ALL and topic.startswith(self._for_all):
            self.bus.emit(EventType.ERROR, code=ErrorCode.BAD_COMMAND,
                          message=f"{name}: not taken on {self._for_all}{name} (it would open every microphone "
                                  f"in the home); send it to {self.base}/cmd/{name} or a room")
            return
        self.submit(name, value)

    # -- several speakers, one wake word ----------------------------------------------------------

    def _claim(self, event: Event) -> None:
        window = self.settings.arbitration_seconds
        score = event.get("score")
        if window <= 0 or not self.connected or not isinstance(score, (int, float)) or not math.isfinite(score):
            return
        mine = Claim(self.device, float(score), time.monotonic())
        with self._lock:
            self._claims.append(mine)
        self.client.publish(self._arbitration, json.dumps({"device": self.device, "turn": event["turn"],
                                                           "score": mine.score, "ts": time.time()}), qos=1)
        timer = threading.Timer(window, self._guard(self._decide), args=(mine, event["turn"]))
        timer.daemon = True
        timer.start()

    def _remember_claim(self, payload: bytes) -> None:
        try:
            claim = read_claim(payload)
        except PayloadError as e:
            log.warning("MQTT: ignoring an arbitration claim: %s", e)
            return
        if claim.device != self.device:
            with self._lock:
                self._claims.append(claim)

    def _decide(self, mine: Claim, turn: str) -> None:
        """The speaker that heard the wake word best answers; the others go back to idle. Only
        claims that arrived within the window around this one count."""
        window = self.settings.arbitration_seconds
        with self._lock:
            claims = list(self._claims)
        for rival in claims:
            if rival.device == self.device or abs(rival.received - mine.received) > window:
                continue
            # ties go to the alphabetically first device id: every speaker computes the same winner
            if rival.score > mine.score or (rival.score == mine.score and rival.device < self.device):
                log.info("another speaker (%s) heard the wake word better; leaving it the answer", rival.device)
                self.yield_turn(turn)
                return

    # -- Home Assistant ------------------------------------------------------------------------------

    def _announce(self) -> None:
        topic = f"{self.settings.discovery_prefix}/device/speaker_{self.device}/config"
        self.client.publish(topic, json.dumps(discovery(self.base, self.device, self.wake_words)), qos=1, retain=True)


def discovery(base: str, device: str, wake_words: list[str]) -> dict:
    """Home Assistant device discovery: one device, its entities in `cmps` (each with QoS 1:
    Home Assistant does not take the top-level `qos` down to the components)."""
    uid = f"speaker_{device}"

    def entity(key: str, platform: str, name: str, **fields) -> tuple[str, dict]:
        return key, {"p": platform, "name": name, "unique_id": f"{uid}_{key}", "qos": 1, **fields}

    components = dict([
        entity("state", "sensor", "State", state_topic=f"{base}/state", icon="mdi:account-voice"),
        entity("transcript", "sensor", "Last heard", state_topic=f"{base}/transcript", icon="mdi:ear-hearing"),
        entity("response", "sensor", "Last answer", state_topic=f"{base}/response", icon="mdi:message-text"),
        entity("mute", "switch", "Mute microphone", command_topic=f"{base}/cmd/mute", state_topic=f"{base}/muted",
               payload_on='{"mute": true}', payload_off='{"mute": false}', state_on="ON", state_off="OFF",
               icon="mdi:microphone-off"),
        entity("volume", "number", "Volume", command_topic=f"{base}/cmd/volume", state_topic=f"{base}/volume",
               command_template='{"level": {{ value | int }}}', min=0, max=100, step=1, unit_of_measurement="%"),
        entity("listen", "button", "Start listening", command_topic=f"{base}/cmd/listen", payload_press="{}"),
        entity("stop", "button", "Stop", command_topic=f"{base}/cmd/stop", payload_press="{}"),
        entity("say", "notify", "Say", command_topic=f"{base}/cmd/say", command_template='{"text": {{ value | tojson }}}'),
        entity("wake", "event", "Wake word", state_topic=f"{base}/event/wake", event_types=wake_words,
               value_template='{"event_type": "{{ value_json.wake_word }}"}'),
        entity("timer", "event", "Timer", state_topic=f"{base}/event/timer", event_types=["timer", "alarm"],
               value_template='{"event_type": "{{ value_json.kind }}"}'),
    ])
    return {
        "dev": {"ids": [uid], "name": f"Speaker {device}", "mf": "speaker", "mdl": "speaker", "sw": __version__},
        "o": {"name": "speaker", "sw": __version__},
        "availability_topic": f"{base}/availability",
        "qos": 1,
        "cmps": components,
    }
