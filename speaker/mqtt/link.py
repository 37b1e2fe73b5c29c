"""The MQTT link: the connection to the broker, with a backlog of the events that happen while it
is away, and the commands that come in.

Nothing that arrives can stop the link: every payload is read with bounded size, depth and
numbers (`read_payload`), and every callback answers whatever goes wrong with an error event.
"""

from __future__ import annotations

import collections
import json
import logging
import ssl
import sys
import threading
import time
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ..commands import CommandName
from ..config import Settings
from ..events import Device, Error, ErrorCode, Event, EventBus, Wake
from ..payload import PayloadError, Trouble, read_payload, shorten
from .arbitration import Arbitration
from .discovery import discovery
from .publishing import RETAINED_TEXT, publications

log = logging.getLogger(__name__)

NOT_FOR_ALL = {CommandName.LISTEN}  # would open every microphone in the home at once


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
        self.trouble = Trouble("MQTT", lambda code, message: self.bus.emit(Error(code=code, message=message)))
        self._closing = False
        self._arbitration = f"{prefix}/arbitration"
        self.arbitration = Arbitration(device=self.device, window=self.settings.arbitration_seconds,
                                       publish=self._publish_claim, yield_turn=yield_turn, guard=self._guard)
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
            self.bus.emit(Error(code=ErrorCode.MQTT_FAILED,
                                message=shorten(f"{where.strip('_')}: {type(error).__name__}: {error}", 300)))
        except Exception:
            pass  # nothing more can be done, and paho's thread must go on

    # -- events out -------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        for name, payload, retained in publications(event, self.settings.retain_transcripts):
            if retained:
                self._publish_retained(name, payload)
            else:
                self._publish(f"{self.base}/{name}", payload)
        if isinstance(event, Wake) and self.connected:
            self.arbitration.claim(event)
        elif isinstance(event, Device):
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

    def _switch(self, event: Device) -> None:
        """A device of the home to turn on or off (a `device` event: the user asked by voice, or a
        `switch` command): publish the configured payload of the device named."""
        for device in self.settings.devices:
            if event.name in device.names:
                self._publish(device.topic, device.on if event.on else device.off)
                return
        log.warning("MQTT: no [[mqtt.devices]] entry is called %r", event.name)

    # -- connection ---------------------------------------------------------------------------

    def _on_connect_fail(self, _client, _userdata) -> None:
        try:
            error = sys.exc_info()[1]  # paho calls this while it handles the error
            where = f"{self.broker.host}:{self.broker.port}"
            if isinstance(error, ssl.SSLError):
                self.trouble.report(ErrorCode.MQTT_TLS, f"the TLS handshake with the broker at {where} failed: {error}")
            else:
                self.trouble.report(ErrorCode.MQTT_UNREACHABLE, f"cannot reach the broker at {where}: {error or 'no answer'}"
                             "; trying again")
        except Exception as e:
            self._failed("on_connect_fail", e)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.trouble.report(ErrorCode.MQTT_REFUSED, f"the broker refused the connection: {reason_code}")
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
            self.trouble.clear()
            dropped, self.dropped = self.dropped, 0
        log.info("MQTT: connected to %s:%s", self.broker.host, self.broker.port)
        if dropped:
            self.bus.emit(Error(code=ErrorCode.EVENTS_DROPPED,
                                message=f"{dropped} events were dropped while the broker was away (mqtt.queue_limit)"))

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        with self._lock:
            was, self.connected = self.connected, False
        if was and not self._closing:
            self.trouble.report(ErrorCode.MQTT_LOST, f"lost the broker ({reason_code}); keeping events until it is back")

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
            self.arbitration.remember(payload)
            return
        name = shorten(topic.rsplit("/", 1)[-1], 40)
        try:
            value = read_payload(payload)
        except PayloadError as e:
            log.warning("MQTT: bad command on %s: %s", shorten(topic, 200), e)
            self.bus.emit(Error(code=ErrorCode.BAD_COMMAND, message=f"{name}: {e}"))
            return
        if name in NOT_FOR_ALL and topic.startswith(self._for_all):
            self.bus.emit(Error(code=ErrorCode.BAD_COMMAND,
                                message=f"{name}: not taken on {self._for_all}{name} (it would open every microphone "
                                        f"in the home); send it to {self.base}/cmd/{name} or a room"))
            return
        self.submit(name, value)

    def _publish_claim(self, claim: str) -> None:
        self.client.publish(self._arbitration, claim, qos=1)

    # -- Home Assistant ------------------------------------------------------------------------------

    def _announce(self) -> None:
        topic = f"{self.settings.discovery_prefix}/device/speaker_{self.device}/config"
        self.client.publish(topic, json.dumps(discovery(self.base, self.device, self.wake_words)), qos=1, retain=True)
