"""The running speaker: the audio loop around an Assembly (speaker/assembly.py), systemd's side
of things, and reloads. `speaker run` builds one Daemon and calls run()."""

from __future__ import annotations

import collections
import itertools
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import config
from .audio import LiveSource, RawSource, WavSource
from .config import Settings
from .events import Error, ErrorCode, EventBus, JsonlWriter, MicrophoneRestored
from .service import MICROPHONE_PROBLEMS, Service
from .wake import CONTEXT_FRAMES, WakeDetector

if TYPE_CHECKING:
    from .assembly import Assembly, Changes

log = logging.getLogger(__name__)

EARLY_CONTEXT_FRAMES = 38  # 3 s: what the pipeline hears again of a wake word heard while the models loaded
RELOAD_QUIET_SECONDS = 0.3  # a flood of reload requests becomes one reload, this long after the last


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How `speaker run` was asked to run (beyond the settings file)."""

    config_path: str | None = None
    overrides: tuple = ()  # (key, value) pairs that beat the file, e.g. ("language", "ko")
    input: str | None = None  # a WAV path, "-" for raw stdin, None for the microphone
    realtime: bool = False
    output: str | None = None
    events_jsonl: str | None = None


class Daemon:
    """`source` and `sink`, if given, are heard and played to instead of what the options name
    (a test's own microphone and loudspeaker, e.g. speaker.testing.room's)."""

    def __init__(self, options: RunOptions, source=None, sink=None):
        self.options = options
        self.settings = self._load_settings()
        self.bus = EventBus(self.settings.device_id)
        if options.events_jsonl:
            self.bus.subscribe(JsonlWriter(_private_stdout() if options.events_jsonl == "-"
                                           else _private_file(options.events_jsonl)))
        self.service = Service(self.bus)
        self.stopping = threading.Event()
        self._stop_asked_by = ""  # who asked for the stop (a signal's name), logged by the audio loop
        self._reload_asked_by = ""
        self.source = source
        self.sink = sink
        self.assembly: Assembly | None = None
        self._reload_asked = threading.Event()
        self._last_asked = 0.0
        self._pending: Changes | None = None  # prepared, waiting for the pipeline to rest
        self._applied = threading.Event()
        self._fault = ""  # the microphone's problem, until it is solved (the pipeline learns it once it is built)
        self.loading: threading.Thread | None = None  # models still loading when a stop came: not waited for
        if source is None and options.input and options.input != "-":
            self.source = WavSource(options.input, realtime=options.realtime)  # a bad file is refused early

    @property
    def pipeline(self):
        return self.assembly.pipeline if self.assembly is not None else None

    def _load_settings(self) -> Settings:
        return config.load(self.options.config_path, dict(self.options.overrides))

    def report(self, code: str, message: str, **fields) -> None:
        """Devices report failures here; they become error events (a microphone's also the error state)."""
        self.bus.emit(Error(code=code, message=message, **fields))
        if code in MICROPHONE_PROBLEMS:
            self._fault = message
            if self.pipeline is not None:
                self.pipeline.call_soon(lambda: self.pipeline.set_fault(message))

    def _microphone_restored(self) -> None:
        self.bus.emit(MicrophoneRestored(message="the microphone sends audio again"))
        self._fault = ""
        if self.pipeline is not None:
            self.pipeline.call_soon(lambda: self.pipeline.set_fault(""))

    def run(self) -> int:
        """Load the models, open the audio and run until the input ends or stop() is called."""
        settings = self.settings
        log.info("loading models (%s)", settings.language)
        self.service.status(f"loading models ({settings.language})")
        live = self.source.live if self.source is not None else self.options.input is None

        def build(loaded_wake: WakeDetector | None = None) -> Assembly:
            # imported here: the dialogue and the engines' modules take a second to import, which a
            # live microphone spends listening for the wake word already
            from .assembly import Assembly, load_stages

            stages = load_stages(settings, wake=loaded_wake) if loaded_wake is not None else None
            return Assembly(settings, self.bus, output=self.options.output, clock=time.monotonic if live else None,
                            on_reload=self.reload, report=self.report, stages=stages, sink=self.sink)

        early = live  # a live microphone: ready before the speech models are
        if not early:
            self.assembly = build()
        if self.options.input == "-":
            self.source = RawSource(sys.stdin.buffer)
        elif self.source is None:
            audio = settings.audio
            self.source = LiveSource(audio.input_device, audio.input_command, audio.retry_seconds, report=self.report,
                                     read_timeout=audio.read_timeout_seconds, restored=self._microphone_restored)
        self.service.watch(self.source)
        frames = iter(self.source)
        heard_early = self._listen_while_loading(frames, build) if early else []
        if self.assembly is None:  # asked to stop while the speech models loaded: nothing to finish
            self._announce_stop()
            self.source.close()
            log.info("stopped while the speech models loaded")
            return 0
        threading.Thread(target=self._reload_forever, name="reload", daemon=True).start()
        if self.stopping.is_set():  # asked to stop while the models loaded
            self.source.close()
        if live:
            self.pipeline.nudge = self.source.nudge
        self.assembly.start()
        log.info("ready: listening for %s", ", ".join(self.pipeline.stages.wake.names))
        try:
            for frame in itertools.chain(heard_early, frames):
                self.service.beat()
                if self.stopping.is_set():
                    break
                if frame is None:
                    self.pipeline.tick()
                else:
                    self.pipeline.process(frame, behind=self.source.behind)
                if self._pending is not None and self.assembly.resting:
                    self._apply()
            if self.stopping.is_set():
                self.pipeline.submit("stop")  # cut the sentence being said or heard
            self.pipeline.finish()
        finally:
            self._announce_stop()
            self.source.close()
            self.assembly.close(cut=self.stopping.is_set())
        return 0

    def _announce_stop(self) -> None:
        asked_by = self._stop_asked_by or ("asked" if self.stopping.is_set() else "the input ended")
        log.info("stopping (%s)", asked_by)
        self.service.stopping()

    def _listen_while_loading(self, frames, build) -> list:
        """Ready as soon as the wake word and the microphone are: the wake word is heard while `build`
        loads the rest (recogniser, dialogue, voice) in the background. Returns the audio to hear once
        it has loaded: from a little before a wake word heard meanwhile to now, else the last moments
        (a wake word being said as it loaded): nothing is dropped.
        A stop meanwhile returns at once, leaving the load running (`loading`) and no assembly."""
        wake = WakeDetector(self.settings.wake)
        built: dict = {}

        def load() -> None:
            try:
                built["assembly"] = build(wake)
            except BaseException as e:  # handed to the audio loop's thread, which raises it
                built["error"] = e

        loading = threading.Thread(target=load, name="loading", daemon=True)
        loading.start()
        log.info("ready: listening for %s (the speech models are still loading)", ", ".join(wake.names))
        self.service.status("waiting for the wake word (loading the speech models)")
        listener = wake.twin(self.settings.wake)  # the same models; the pipeline's own detector hears it all again
        recent: collections.deque = collections.deque(maxlen=EARLY_CONTEXT_FRAMES)
        kept: list | None = None
        while loading.is_alive() and not self.stopping.is_set():
            frame = next(frames, False)
            self.service.beat()
            if frame is False:  # the input ended
                break
            if frame is None:
                continue
            if kept is not None:
                kept.append(frame)
            else:
                recent.append(frame)
                if listener.process(frame) is not None:
                    log.info("wake word heard while loading: answered once the speech models are in")
                    kept = list(recent)
        if self.stopping.is_set():
            self.loading = loading
            return []
        loading.join()
        if "error" in built:
            raise built["error"]
        self.assembly = built["assembly"]
        fault = self._fault
        if fault:  # the microphone failed while the models loaded
            self.pipeline.call_soon(lambda: self.pipeline.set_fault(fault))
        return kept if kept is not None else list(recent)[-CONTEXT_FRAMES:]

    def stop(self, asked_by: str = "") -> None:
        """Stop soon: the audio loop sees it within a frame. Safe from a signal handler (it only sets
        flags) or another thread."""
        self._stop_asked_by = asked_by
        self.stopping.set()

    # -- reload ---------------------------------------------------------------------------------

    def reload(self, asked_by: str = "") -> None:
        """Read the settings file again soon (safe from a signal handler or any thread). A flood
        of requests is one reload; it switches between turns, never cutting one."""
        self._reload_asked_by = asked_by
        self._last_asked = time.monotonic()
        self._reload_asked.set()

    def _reload_forever(self) -> None:
        while not self.stopping.is_set():
            if not self._reload_asked.wait(0.5):
                continue
            while time.monotonic() - self._last_asked < RELOAD_QUIET_SECONDS:  # debounce
                time.sleep(RELOAD_QUIET_SECONDS / 3)
            self._reload_asked.clear()
            log.info("reloading the settings%s", f" ({self._reload_asked_by})" if self._reload_asked_by else "")
            try:
                self._prepare()
            except Exception as e:  # the reload thread must outlive any surprise
                log.exception("reload failed")
                self.bus.emit(Error(code=ErrorCode.BAD_CONFIG, message=f"reload failed: {type(e).__name__}: {e}"))

    def _prepare(self) -> None:
        try:
            settings = self._load_settings()
        except config.ConfigError as e:
            message = "; ".join(e.problems)
            log.error("reload refused, keeping the running settings: %s", message)
            self.bus.emit(Error(code=ErrorCode.BAD_CONFIG, message=f"reload refused: {message}"))
            return
        self._applied.clear()
        self._pending = self.assembly.prepare(settings)
        while not self._applied.wait(0.5):  # the next reload builds on this one, once it is in
            if self.stopping.is_set():
                self._pending.discard(self.pipeline.stages)
                return

    def _apply(self) -> None:
        changes, self._pending = self._pending, None
        path = self.options.config_path
        self.assembly.apply(changes, str(Path(path)) if path else None)
        self.settings = self.assembly.settings
        self._applied.set()


def _private_stdout():
    """Keep standard output for events alone: anything else that prints (a library's chatter)
    goes to standard error instead of breaking the JSON lines."""
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def _private_file(path: str):
    """Events carry what people said: their file is readable by this user alone."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")
