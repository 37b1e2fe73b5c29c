"""The speaker on the home bus: every event out, commands in, Home Assistant discovery, and
arbitration when several speakers hear one wake word.

Topics (prefix "speaker" by default, <base> = <prefix>/<device_id>):
  <base>/event/<type>              every event, JSON, QoS 1
  <base>/state                     current state, retained (also volume, muted, transcript, response)
  <base>/availability              online / offline (retained; offline is the last will)
  <base>/cmd/<name>                commands, JSON (also <prefix>/all/cmd/<name>, <prefix>/room/<room>/cmd/<name>)
  <prefix>/arbitration             wake claims shared by the speakers of one home
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from . import __version__
from .config import Settings
from .events import Event, EventBus

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
RETAINED = {"transcript": "transcript", "response": "response"}  # event type -> retained topic


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
        self.base = f"{self.settings.prefix}/{self.device}"
        self.connected = False
        self.dropped = 0
        self._lock = threading.RLock()
        self._backlog: collections.deque[tuple[str, str]] = collections.deque()  # events kept while away
        self._retained: dict[str, str] = {}  # latest value of every retained topic, re-sent on connect
        self._claims: collections.deque[dict] = collections.deque(maxlen=64)
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
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
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
        if self.connected:
            goodbye = self.client.publish(f"{self.base}/availability", "offline", qos=1, retain=True)
            goodbye.wait_for_publish(max(0.5, deadline - time.monotonic()))  # QoS 1 in order: all before it are out
        self.client.disconnect()
        self.client.loop_stop()

    # -- events out -------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        self._publish(f"{self.base}/event/{kind}", json.dumps(event, ensure_ascii=False))
        if kind == "state":
            self._publish_retained("state", event["state"])
            if event["state"] in ("muted", "idle"):
                self._publish_retained("muted", "ON" if event["state"] == "muted" else "OFF")
        elif kind == "volume":
            self._publish_retained("volume", str(event["level"]))
        elif kind in RETAINED and (kind != "transcript" or event.get("final")):
            self._publish_retained(RETAINED[kind], event["text"])
        elif kind == "wake":
            self._claim(event)
        elif kind == "device":
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
            self._retained[topic] = value
            if self.connected:
                self.client.publish(topic, value, qos=1, retain=True)

    def _switch(self, event: Event) -> None:
        """A `device` event (the user asked to switch something): publish its configured payload."""
        for device in self.settings.devices:
            if event["name"] in device.names:
                self._publish(device.topic, device.on if event["on"] else device.off)
                return

    # -- connection ---------------------------------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            message = f"the broker refused the connection: {reason_code}"
            log.error("MQTT: %s", message)
            self.bus.emit("error", code="mqtt_refused", message=message)
            return
        topics = [f"{self.base}/cmd/+", f"{self.settings.prefix}/all/cmd/+", f"{self.settings.prefix}/arbitration"]
        if self.settings.room:
            topics.append(f"{self.settings.prefix}/room/{self.settings.room}/cmd/+")
        if self.settings.discovery:
            topics.append(f"{self.settings.discovery_prefix}/status")
        client.subscribe([(t, 1) for t in topics])
        with self._lock:
            client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
            if self.settings.discovery:
                self._announce()
            for topic, value in self._retained.items():
                client.publish(topic, value, qos=1, retain=True)
            while self._backlog:
                client.publish(*self._backlog.popleft(), qos=1)
            self.connected = True
            dropped, self.dropped = self.dropped, 0
        log.info("MQTT: connected to %s:%s", self.broker.host, self.broker.port)
        if dropped:
            self.bus.emit("error", code="events_dropped",
                          message=f"{dropped} events were dropped while the broker was away (mqtt.queue_limit)")

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        with self._lock:
            was, self.connected = self.connected, False
        if was:
            log.warning("MQTT: lost the broker (%s); keeping events until it is back", reason_code)

    # -- commands in ----------------------------------------------------------------------------

    def _on_message(self, _client, _userdata, message) -> None:
        topic = message.topic
        if topic == f"{self.settings.discovery_prefix}/status":
            if message.payload == b"online":
                with self._lock:
                    self._announce()
            return
        if topic == f"{self.settings.prefix}/arbitration":
            self._remember_claim(message.payload)
            return
        name = topic.rsplit("/", 1)[-1]
        try:
            if len(message.payload) > MAX_PAYLOAD:
                raise ValueError(f"payload too large ({len(message.payload)} bytes, at most {MAX_PAYLOAD})")
            text = message.payload.decode("utf-8").strip()
            payload = json.loads(text) if text else {}
        except (UnicodeDecodeError, ValueError) as e:
            log.warning("MQTT: bad command on %s: %s", topic, e)
            self.bus.emit("error", code="bad_command", message=f"{name}: not a JSON object ({e})")
            return
        self.submit(name, payload)

    # -- several speakers, one wake word ----------------------------------------------------------

    def _claim(self, event: Event) -> None:
        window = self.settings.arbitration_seconds
        if window <= 0 or not self.connected:
            return
        claim = {"device": self.device, "turn": event["turn"], "score": event["score"], "ts": time.time()}
        self._claims.append(claim)
        self.client.publish(f"{self.settings.prefix}/arbitration", json.dumps(claim), qos=1)
        threading.Timer(window, self._decide, args=(claim,)).start()

    def _remember_claim(self, payload: bytes) -> None:
        try:
            claim = json.loads(payload)
            if claim["device"] != self.device:
                self._claims.append({"device": str(claim["device"]), "score": float(claim["score"]),
                                     "ts": float(claim["ts"])})
        except (ValueError, KeyError, TypeError):
            log.warning("MQTT: ignoring a malformed arbitration claim: %r", payload[:200])

    def _decide(self, mine: dict) -> None:
        """The speaker that heard the wake word best answers; the others go back to idle."""
        window = self.settings.arbitration_seconds
        for rival in list(self._claims):
            if rival["device"] == self.device or abs(rival["ts"] - mine["ts"]) > window:
                continue
            # ties go to the alphabetically first device id: every speaker computes the same winner
            if rival["score"] > mine["score"] or (rival["score"] == mine["score"] and rival["device"] < self.device):
                log.info("another speaker (%s) heard the wake word better; leaving it the answer", rival["device"])
                self.yield_turn(mine["turn"])
                return

    # -- Home Assistant ------------------------------------------------------------------------------

    def _announce(self) -> None:
        topic = f"{self.settings.discovery_prefix}/device/speaker_{self.device}/config"
        self.client.publish(topic, json.dumps(discovery(self.base, self.device, self.wake_words)), qos=1, retain=True)


def discovery(base: str, device: str, wake_words: list[str]) -> dict:
    """Home Assistant device discovery: one device, its entities in `cmps`."""
    uid = f"speaker_{device}"

    def entity(key: str, platform: str, name: str, **fields) -> tuple[str, dict]:
        return key, {"p": platform, "name": name, "unique_id": f"{uid}_{key}", **fields}

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
