"""The running speaker: settings, the event bus and everything that listens to it, the pipeline,
and the audio that feeds it. `speaker run` builds one Daemon and calls run()."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import config
from .audio import DeviceSink, LiveSource, RawSource, WavSink, WavSource
from .config import ConfigError, ModelMissing, Settings
from .events import EventBus, EventLog, JsonlWriter
from .pipeline import Pipeline, Stages
from .service import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """How `speaker run` was asked to run (beyond the settings file)."""

    config_path: str | None = None
    overrides: tuple = ()  # (key, value) pairs that beat the file, e.g. ("language", "ko")
    input: str | None = None  # a WAV path, "-" for raw stdin, None for the microphone
    realtime: bool = False
    output: str | None = None
    events_jsonl: str | None = None
    room: float | None = None  # tests: a simulated room feeds the answers back into the input, this many dB louder than the voice


class Daemon:
    def __init__(self, options: RunOptions):
        self.options = options
        self.settings = self._load_settings()
        self.bus = EventBus(self.settings.device_id)
        self.bus.subscribe(EventLog(self.settings.log.transcripts))
        if options.events_jsonl:
            stream = _private_stdout() if options.events_jsonl == "-" else open(options.events_jsonl, "a", encoding="utf-8")
            self.bus.subscribe(JsonlWriter(stream))
        self.service = Service(self.bus)
        self.stopping = threading.Event()
        self.source = None
        self.pipeline: Pipeline | None = None
        self._reloading = threading.Lock()
        if options.input and options.input != "-":
            self.source = WavSource(options.input, realtime=options.realtime)  # a bad file is refused early

    def _load_settings(self) -> Settings:
        return config.load(self.options.config_path, dict(self.options.overrides))

    def report(self, code: str, message: str) -> None:
        """Devices report failures here; they become error events."""
        self.bus.emit("error", code=code, message=message)

    def run(self) -> int:
        """Load the models, open the audio and run until the input ends or stop() is called."""
        settings = self.settings
        log.info("loading models (%s)", settings.language)
        self.service.status(f"loading models ({settings.language})")
        stages = Stages.load(settings, settings.language)
        sink = WavSink(self.options.output) if self.options.output else DeviceSink(
            settings.audio.output_device, settings.audio.output_command, self.report)
        if self.options.input == "-":
            self.source = RawSource(sys.stdin.buffer)
        elif self.source is None:
            self.source = LiveSource(settings.audio.input_device, settings.audio.input_command,
                                     settings.audio.retry_seconds, self.report)
        if self.options.room is not None:
            from .room import Room

            room = Room(self.source, sink, echo_db=self.options.room)
            self.source, sink = room.source, room.sink
        clock = time.monotonic if self.source.live else None
        mqtt = None
        if settings.mqtt.url:
            from .mqtt import MqttLink

            mqtt = MqttLink(settings, self.bus, lambda name, payload: self.pipeline.submit(name, payload),
                            lambda turn: self.pipeline.yield_turn(turn), stages.wake.names)
        self.pipeline = Pipeline(stages, self.bus, sink, clock=clock, on_reload=self.reload)
        gpio = None
        if settings.gpio.pins() or settings.gpio.mute_survives_restart:
            from .gpio import Gpio

            gpio = Gpio(settings.gpio, settings.state_dir(), self.bus, self.pipeline.submit)
        if mqtt is not None:
            mqtt.start()
        if self.stopping.is_set():  # asked to stop while the models loaded
            self.source.close()
        log.info("ready: listening for %s", ", ".join(stages.wake.names))
        self.pipeline.start()
        self.service.watch(self.source)
        try:
            for frame in self.source:
                self.service.beat()
                if self.stopping.is_set():
                    break
                if frame is None:
                    self.pipeline.tick()
                else:
                    self.pipeline.process(frame)
            if self.stopping.is_set():
                self.pipeline.submit("stop")  # cut the sentence being said or heard
            self.pipeline.finish()
        finally:
            self.service.stopping()
            if mqtt is not None:
                mqtt.close()
            if gpio is not None:
                gpio.close()
            sink.close()
            self.pipeline.stages.voice.close()
        return 0

    def stop(self) -> None:
        """Stop soon (safe from a signal handler or another thread)."""
        self.stopping.set()
        if self.source is not None:
            self.source.close()

    def reload(self) -> None:
        """Re-read the settings file in the background and switch to it between frames.
        An invalid file is refused with an error event, and the old settings stay."""
        if self.pipeline is None:
            log.warning("reload ignored: the speaker is still starting")
            return
        threading.Thread(target=self._reload, name="reload", daemon=True).start()

    def _reload(self) -> None:
        if not self._reloading.acquire(blocking=False):
            return
        try:
            try:
                settings = self._load_settings()
                old = self.pipeline.stages
                same_speech = (settings.language, settings.stt) == (self.settings.language, self.settings.stt)
                stages = Stages.load(settings, settings.language, reuse=old if same_speech else None)
            except (ConfigError, ModelMissing) as e:
                message = str(e).replace("\n", "; ")
                log.error("reload refused, keeping the running settings: %s", message)
                self.bus.emit("error", code="bad_config", message=f"reload refused: {message}")
                return
            self.settings = settings
            self.pipeline.call_soon(lambda: self._switch(settings, stages))
        finally:
            self._reloading.release()

    def _switch(self, settings: Settings, stages: Stages) -> None:
        old = self.pipeline.stages
        self.pipeline.replace_stages(stages)
        self.bus.device = settings.device_id
        if old.voice is not stages.voice:
            old.voice.close()
        log.info("reloaded %s", self.options.config_path or "settings")
        self.bus.emit("reloaded", config=str(Path(self.options.config_path)) if self.options.config_path else None)


def _private_stdout():
    """Keep standard output for events alone: anything else that prints (a library's chatter)
    goes to standard error instead of breaking the JSON lines."""
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events
