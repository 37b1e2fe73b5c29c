"""Wiring in one place: the speaker's parts built from settings and joined to the event bus.

`Assembly` is what `speaker run`, a reload and the tests use: the event log, the stages, the sink,
the pipeline, the MQTT link and the GPIO panel. A reload is `prepare` (off the pipeline's thread:
builds only what the new settings change, reusing every loaded model otherwise) then `apply` (on
the pipeline's thread, between turns: switches to it, section by section, and says what it did).
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from . import speech
from .audio import AudioClock, DeviceSink, WavSink
from .barge_in import BargeIn
from .config import ConfigError, ModelMissing, Settings
from .dialogue import Dialogue, languages
from .echo import EchoCanceller
from .endpoint import Endpointer
from .events import Error, ErrorCode, EventBus, EventLog, Reloaded, StateChanged, Volume
from .pipeline import RESTING, Pipeline
from .stages import Stages, TurnSettings
from .stop_words import StopWords
from .stt import Transcriber
from .voice import Voice
from .wake import WakeDetector

log = logging.getLogger(__name__)

INPUT_KEYS = ("input_device", "input_command", "retry_seconds", "read_timeout_seconds")  # [audio], read at start
SPEECH_SECTIONS = {"language", "persona", "llm", "stt", "voice"}  # what the dialogue, recogniser and voice hang on


def make_sink(settings: Settings, output: str | None, report: Callable[..., None]):
    """Answers go to a WAV file (`output`), or to the sound device or output command of the settings."""
    if output:
        return WavSink(output)
    return DeviceSink(settings.audio.output_device, settings.audio.output_command, report)


def load_stages(settings: Settings, wall_clock: Callable[[], datetime] = datetime.now,
                wake: WakeDetector | None = None) -> Stages:
    """Load and warm every model once (the wake detector: unless given). A missing wake-word or voice
    model raises ModelMissing; a missing speech model leaves the speaker able to wake and say what is missing."""
    wake = wake or WakeDetector(settings.wake)
    dialogue, transcriber, voice, missing = speech_stages(settings, None, SPEECH_SECTIONS, wall_clock)
    stages = Stages(wake=wake, endpointer=Endpointer(settings.listen), transcriber=transcriber, dialogue=dialogue,
                    voice=voice, missing_model=missing, echo=EchoCanceller(settings.echo),
                    barge_in=barge_in_for(settings, wake, transcriber))
    release_freed_memory()
    return stages


def release_freed_memory() -> None:
    """Hand back to the system what loading freed but the C heap kept (the model files' parsed copies:
    tens of MB). glibc only; elsewhere nothing happens."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def speech_stages(new: Settings, running: Stages | None, speech: set[str],
                  wall_clock: Callable[[], datetime] = datetime.now) -> tuple:
    """The dialogue, recogniser, voice and missing model's message for `new`, reusing the `running`
    ones where nothing they hang on (`speech`: the sections that changed) changed."""
    language = new.language
    dialogue = running.dialogue if running else None
    if dialogue is None or speech & {"language", "persona", "llm", "mqtt.devices"}:
        dialogue = Dialogue.from_settings(new, language, clock=wall_clock)
    transcriber, missing = (running.transcriber, running.missing_model) if running else (None, "")
    if (running is None or speech & {"language", "stt"}
            or (dialogue is not running.dialogue and dialogue.phrases() != running.dialogue.phrases())):
        try:
            transcriber, missing = Transcriber.for_dialogue(new, dialogue), ""
        except ModelMissing as e:
            transcriber, missing = None, str(e)
    voice = running.voice if running else None
    if voice is None or speech & {"language", "persona", "voice"}:
        voice = Voice(dialogue.persona.voice_settings(new.voice), language)
    return dialogue, transcriber, voice, missing


def barge_in_for(settings: Settings, wake: WakeDetector, transcriber: Transcriber | None) -> BargeIn | None:
    """The wake word and stop words heard over the answer; stop words share the speech model (Korean) or
    its dictionary (English with pocketsphinx)."""
    if not (settings.echo.barge_in or settings.echo.stop_words):
        return None
    wake = wake if settings.echo.barge_in else None
    grammar = languages.get(settings.language).STOP_SPOTTER == "grammar"  # needs the transcriber's model
    if not settings.echo.stop_words or (grammar and transcriber is None):
        return BargeIn(wake, settings.wake, None)
    model = transcriber.vosk_model if transcriber is not None else None
    other_words = transcriber.grammar if transcriber is not None else []
    pronounce = getattr(transcriber.engine, "pronounce", None) if transcriber is not None else None  # pocketsphinx's
    return BargeIn(wake, settings.wake, StopWords(settings.language, vosk_model=model, other_words=other_words, pronounce=pronounce))


def turn_settings(settings: Settings, stages: Stages) -> TurnSettings:
    """The pipeline's own settings: the answers' follow-up window, the voice's chimes, the announcements."""
    voice = stages.voice.settings
    return TurnSettings(follow_up_seconds=settings.listen.follow_up_seconds, wake_chime=voice.wake_chime,
                        done_chime=voice.done_chime, announce=settings.announce)


def changed_sections(old: Settings, new: Settings) -> set[str]:
    """The top-level settings (sections and keys such as `device_id`) that differ."""
    return {f.name for f in dataclasses.fields(Settings) if getattr(old, f.name) != getattr(new, f.name)}


@dataclass(kw_only=True)
class Changes:
    """What one reload will do: the settings it switches to (refused sections keep their old values),
    the stages for them, and what it applies, leaves for a restart, or refuses (section -> why)."""

    settings: Settings
    stages: Stages
    turn: TurnSettings
    applied: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def discard(self, running: Stages) -> None:
        """Never applied: let go of what was built for it."""
        if self.stages.voice is not running.voice:
            self.stages.voice.close()


class Assembly:
    """The running speaker's parts. Answers go to `sink`, else a WAV file (`output`), else the sound
    device of the settings. `submit` is the door for commands from outside (MQTT, tests): a closed
    mute switch refuses an unmute there."""

    def __init__(self, settings: Settings, bus: EventBus, *, output: str | None = None,
                 clock: Callable[[], float] | None = None, on_reload: Callable[[], None] | None = None,
                 report: Callable[..., None] | None = None, stages: Stages | None = None, sink=None):
        self.settings = settings
        self.bus = bus
        self.output = output
        self._own_sink = sink is None and output is None  # the settings' sound device: a reload may change it
        self.report = report or (lambda code, message, **fields: bus.emit(Error(code=code, message=message, **fields)))
        self.log = EventLog(settings.log.transcripts)
        bus.subscribe(self.log)
        self.mqtt = self.gpio = self.wyoming = None
        self._handovers: list[threading.Thread] = []  # old MQTT links saying goodbye
        clock = clock or AudioClock()
        self._wall_clock = clock.wall if isinstance(clock, AudioClock) else datetime.now
        stages = stages or load_stages(settings, self._wall_clock)
        self.sink = sink or make_sink(settings, output, self.report)
        self.pipeline = Pipeline(stages=stages, bus=bus, sink=self.sink, settings=turn_settings(settings, stages),
                                 clock=clock, on_reload=on_reload)
        try:
            self.mqtt = self._mqtt(settings)
            self.gpio = self._gpio(settings)
            self.wyoming = self._wyoming(settings)
        except Exception:
            self.close()
            raise

    def _mqtt(self, settings: Settings):
        if not settings.mqtt.url:
            return None
        from .mqtt import MqttLink

        return MqttLink(settings, self.bus, self.submit, yield_turn=self.pipeline.yield_turn,
                        wake_words=self.pipeline.stages.wake.names)

    def _gpio(self, settings: Settings):
        if not (settings.gpio.pins() or settings.gpio.mute_survives_restart):
            return None
        from .gpio import Gpio

        return Gpio(settings.gpio, settings.state_dir(), self.bus, submit=self.pipeline.submit)

    def _wyoming(self, settings: Settings):
        if not settings.wyoming.enabled:
            return None
        from .wyoming import WyomingService

        return WyomingService(self)

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()
        if self.wyoming is not None:  # listening before the speaker says it is ready
            self.wyoming.start()
        self.pipeline.start()
        self.pipeline.stages.dialogue.read_ahead()

    def submit(self, name: str, payload: dict | None = None) -> bool:
        """A command from outside, from any thread; False if refused (an error event says why)."""
        if self.gpio is not None and not self.gpio.allows(name, payload):
            return False
        return self.pipeline.submit(name, payload)

    @property
    def resting(self) -> bool:
        """Between turns: nothing is heard or said that a reload could cut."""
        return self.pipeline.state in RESTING

    # -- reload ---------------------------------------------------------------------------------

    def prepare(self, new: Settings) -> Changes:
        """Build what `new` changes (any thread; models load here). A section that cannot be built
        is refused, and keeps its running value."""
        old, running = self.settings, self.pipeline.stages
        changed = changed_sections(old, new)
        refused: dict[str, str] = {}
        restart = [f"audio.{key}" for key in INPUT_KEYS if getattr(old.audio, key) != getattr(new.audio, key)]
        if old.wyoming != new.wyoming:  # the Wyoming service keeps its address until a restart
            restart.append("wyoming")
            new = dataclasses.replace(new, wyoming=old.wyoming)
        wake, endpointer = running.wake, running.endpointer
        if "wake" in changed:
            try:
                wake = WakeDetector(new.wake)
            except ModelMissing as e:
                refused["wake"] = str(e)
        if "listen" in changed:
            endpointer = Endpointer(new.listen)
        dialogue, transcriber, voice, missing = running.dialogue, running.transcriber, running.voice, running.missing_model
        speech = changed & SPEECH_SECTIONS
        if old.mqtt.devices != new.mqtt.devices:
            speech.add("mqtt.devices")
        if speech:
            try:
                dialogue, transcriber, voice, missing = speech_stages(new, running, speech, self._wall_clock)
            except (ConfigError, ModelMissing) as e:
                message = str(e).replace("\n", "; ")
                refused.update(dict.fromkeys(sorted(speech), message))
                dialogue, transcriber, voice, missing = running.dialogue, running.transcriber, running.voice, running.missing_model
        kept = {name: getattr(old, name) for name in refused if "." not in name}
        if "mqtt.devices" in refused:
            kept["mqtt"] = dataclasses.replace(new.mqtt, devices=old.mqtt.devices)
        settings = dataclasses.replace(new, **kept)
        applied = sorted(changed_sections(old, settings) - ({"audio"} if self._only_input_changed(old, settings) else set()))
        echo = running.echo if settings.echo == old.echo else EchoCanceller(settings.echo)  # keeps what it learnt
        barge_in = running.barge_in
        if {"echo", "wake", "language", "stt"} & changed_sections(old, settings):
            barge_in = barge_in_for(settings, wake, transcriber)
        stages = Stages(wake=wake, endpointer=endpointer, transcriber=transcriber, dialogue=dialogue, voice=voice,
                        missing_model=missing, echo=echo, barge_in=barge_in)
        return Changes(settings=settings, stages=stages, turn=turn_settings(settings, stages), applied=applied,
                       restart=restart, refused=refused)

    @staticmethod
    def _only_input_changed(old: Settings, new: Settings) -> bool:
        return (old.audio.output_device, old.audio.output_command) == (new.audio.output_device, new.audio.output_command)

    def apply(self, changes: Changes, config: str | None = None) -> None:
        """Switch to `changes` (on the pipeline's thread, while resting) and emit `reloaded`."""
        old, new = self.settings, changes.settings
        running, stages = self.pipeline.stages, changes.stages
        if stages.dialogue is not running.dialogue:
            stages.dialogue.memory = running.dialogue.memory  # what was said since `prepare` stays
            stages.dialogue.read_ahead()
        if stages.transcriber is not None and stages.transcriber is running.transcriber:
            stages.transcriber.understands = stages.dialogue.knows_word_for_word
            stages.transcriber.intent = stages.dialogue.intent
        self.pipeline.replace_stages(stages, changes.turn)
        if running.voice is not stages.voice:
            running.voice.close()
        self.bus.device = new.device_id
        if old.log != new.log:
            logging.getLogger().setLevel(new.log.level.upper())
            self.bus.unsubscribe(self.log)
            self.log = EventLog(new.log.transcripts)
            self.bus.subscribe(self.log)
        if self._own_sink and not self._only_input_changed(old, new):
            previous, self.sink = self.sink, make_sink(new, None, self.report)
            self.pipeline.playback.use_sink(self.sink)
            threading.Thread(target=previous.close, name="old-sink", daemon=True).start()
        if old.gpio != new.gpio:
            self._switch_gpio(old, new, changes)
        if old.mqtt != new.mqtt or old.device_id != new.device_id or running.wake.names != stages.wake.names:
            try:
                self._switch_mqtt(new)
            except (OSError, ValueError) as e:  # e.g. a TLS file that cannot be read
                changes.refused["mqtt"] = f"{type(e).__name__}: {e}"
                changes.applied = [s for s in changes.applied if s not in ("mqtt", "device_id")]
                new = dataclasses.replace(new, mqtt=old.mqtt, device_id=old.device_id)
                self.bus.device = old.device_id
        self.settings = dataclasses.replace(new, gpio=old.gpio) if "gpio" in changes.refused else new
        for section, why in changes.refused.items():
            log.error("reload refused %s, keeping its running settings: %s", section, why)
            self.bus.emit(Error(code=ErrorCode.BAD_CONFIG, message=f"reload refused {section}: {why}"))
        log.info("reloaded %s: applied %s; needs a restart: %s", config or "settings",
                 ", ".join(changes.applied) or "nothing", ", ".join(changes.restart) or "nothing")
        self.bus.emit(Reloaded(config=config, applied=changes.applied, restart_needed=changes.restart,
                               refused=sorted(changes.refused)))

    def _switch_gpio(self, old: Settings, new: Settings, changes: Changes) -> None:
        if self.gpio is not None:
            self.bus.unsubscribe(self.gpio)
            self.gpio.close()
        try:
            self.gpio = self._gpio(new)
        except ConfigError as e:
            changes.refused["gpio"] = "; ".join(e.problems)
            changes.applied = [s for s in changes.applied if s != "gpio"]
            self.gpio = self._gpio(old)
        if self.gpio is not None:  # the panel starts where the speaker is
            self.gpio(StateChanged(state=self.pipeline.state.value))

    def _switch_mqtt(self, new: Settings) -> None:
        """A new link for new topics or a new broker: the old one says goodbye first, in the background."""
        previous, link = self.mqtt, self._mqtt(new)
        if previous is not None:
            self.bus.unsubscribe(previous)
        self.mqtt = link
        if self.mqtt is not None:
            self.bus.emit(Volume(level=self.pipeline.playback.volume))  # retained values for the new topics
            self.bus.emit(StateChanged(state=self.pipeline.state.value))

        def hand_over() -> None:
            if previous is not None:
                previous.close(patience=1.0)
            if link is not None:
                link.start()

        self._handovers = [t for t in self._handovers if t.is_alive()]
        thread = threading.Thread(target=hand_over, name="mqtt-handover", daemon=True)
        self._handovers.append(thread)
        thread.start()

    # -- the end ----------------------------------------------------------------------------------

    def close(self, *, cut: bool = False) -> None:
        """Stop the Wyoming service, say goodbye on MQTT, let go of the pins, finish playing (or, `cut`,
        drop what the player still holds, first), and close the voice."""
        if cut:
            self.sink.stop()
        if self.wyoming is not None:
            self.wyoming.close()
        for thread in self._handovers:
            thread.join(timeout=10)
        if self.mqtt is not None:
            self.mqtt.close()
        if self.gpio is not None:
            self.gpio.close()
        self.sink.close()
        speech.wait_for_workers(timeout=5.0)
        self.pipeline.stages.voice.close()
