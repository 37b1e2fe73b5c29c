"""The persona: who the speaker is (name, voice, the words it says), read from a TOML file.

Built-in personas live in `personas/<name>.toml` (`en` and `ko`: Samantha). A persona file of your
own only needs what it changes: the lines it leaves out come from the built-in persona of its
language. A mistake in the file is refused with the file and the key named.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass, field
from pathlib import Path

from ..config import LANGUAGES, ConfigError, VoiceSettings, read_toml

HERE = Path(__file__).parent / "personas"
PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")

FEELINGS = ("tired", "long_day", "stressed", "anxious", "bored", "sad", "lonely", "missing", "happy", "excited",
            "proud", "sleepless")
SMALL_TALK = ("joke", "nice", "story", "talk", "listening", "doing", "day")

# Every line key, with the {placeholders} its lines may use besides {name} (the companion's) and
# {user} (the user's name: a line with {user} is only said when the speaker knows it).
LINES: dict[str, set[str]] = {
    "HassGetCurrentTime": {"time", "is"},
    "HassGetCurrentDate": {"date", "is"},
    "date_tomorrow": {"date", "is"},
    "HassGetWeather": set(),
    "HassNevermind": set(),
    "SpeakerGreet": set(),
    "SpeakerGoodMorning": {"time"},
    "SpeakerGoodNight": set(),
    "SpeakerHowAreYou": set(),
    "SpeakerThank": set(),
    "SpeakerName": set(),
    "SpeakerRepeat": {"said"},
    "nothing_to_repeat": set(),
    "confirm_mute": set(),
    "mute_declined": set(),
    "confirm_heard": {"heard"},  # a command heard unsure, asked about
    "heard_declined": set(),
    "timer_started": {"duration", "timer"},
    "timer_cancelled": {"timer"},
    "timers_cancelled": {"count"},
    "timer_status": {"timer", "left"},
    "timers_status": {"list"},
    "no_timer": set(),
    "timer_done": {"timer"},
    "alarm_set": {"time", "when"},
    "alarm_cancelled": {"count"},
    "alarm_status": {"list"},
    "no_alarm": set(),
    "alarm_done": {"time", "is"},
    "HassSetVolume": {"level"},
    "volume_up": set(),
    "volume_down": set(),
    "SpeakerMute": set(),
    **{f"feeling_{kind}": set() for kind in FEELINGS},
    "tone_negative": set(),  # a sad or hard thing said that no feeling line fits: acknowledge, ask
    "tone_positive": set(),  # a happy one
    "miss_person": {"person"},
    "nudge": set(),
    "nudge_person": {"person"},
    "nudge_share": {"person"},
    "thread_about": {"topic"},
    "thread_since": {"clause"},
    "SpeakerAffection": set(),
    "SpeakerIdentity": set(),
    "SpeakerCapabilities": set(),
    **{f"smalltalk_{topic}": set() for topic in SMALL_TALK},
    "SpeakerRememberName": set(),
    "remembered": {"fact"},
    "recall": {"fact"},
    "recall_name": set(),
    "recall_unknown": {"subject"},
    "recall_person": {"person", "facts"},
    "name_unknown": set(),
    "forgot": {"fact"},
    "forgot_name": set(),
    "forgot_person": {"person"},
    "forgot_everything": set(),
    "facts_list": {"list"},
    "facts_more": {"count"},
    "no_facts": set(),
    "nothing_to_forget": set(),
    "device_on": {"device"},
    "device_off": {"device"},
    "unknown_device": {"device"},
    "not_understood": set(),
    "no_speech": set(),
    "needs_model": set(),
    "llm_failed": set(),
    "llm_cut": set(),
}
COMMON = {"name", "user"}
NAME_KNOWN = {"SpeakerRememberName", "recall_name"}  # said only when the speaker knows your name
VOICE_KEYS = {"engine": str, "piper_voice": str, "voice": str, "rate": int, "pitch": int, "volume": float}
VOICE_ENGINES = ("auto", "piper", "espeak")
VOICE_RANGES = {"rate": (60, 400), "pitch": (0, 100), "volume": (0.0, 1.0)}
TOP_KEYS = {"name", "language", "prompt", "voice", "lines"}

Lines = list[str] | dict[str, list[str]]  # a list, or lists by part of the day


@dataclass(frozen=True, kw_only=True)
class Persona:
    name: str
    language: str
    lines: dict[str, Lines]
    prompt: str = ""
    voice: dict = field(default_factory=dict)  # voice, rate, pitch, volume: as far as the file sets them

    def voice_settings(self, configured: VoiceSettings) -> VoiceSettings:
        """The configured voice, with the persona's voice wherever the config file keeps the default."""
        default = VoiceSettings()
        names = {"voice": f"{self.language}_voice", "piper_voice": f"{self.language}_piper_voice", "engine": "engine",
                 "rate": "rate", "pitch": "pitch", "volume": "volume"}
        chosen = {names[k]: v for k, v in self.voice.items()
                  if getattr(configured, names[k]) == getattr(default, names[k])}
        return dataclasses.replace(configured, **chosen)

    def choices(self, key: str, part_of_day: str) -> list[str]:
        """The lines for `key` at this time of day."""
        lines = self.lines[key]
        if isinstance(lines, dict):
            return lines.get(part_of_day) or lines["anytime"]
        return lines


def builtin(language: str) -> Persona:
    return load(HERE / f"{language}.toml")


def find(setting: str, language: str) -> Persona:
    """The persona a `persona` setting names: "" (the built-in one for `language`), a built-in name,
    or a path to a TOML file. It must speak `language`."""
    if not setting:
        return builtin(language)
    path = Path(setting).expanduser()
    if not setting.endswith(".toml") and "/" not in setting:
        path = HERE / f"{setting}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in HERE.glob("*.toml")))
            raise ConfigError([f"persona: no built-in persona {setting!r} (built in: {known}; or give a .toml path)"])
    persona = load(path)
    if persona.language != language:
        raise ConfigError([f"{path}: language: this persona speaks {persona.language!r} but the speaker's language is "
                           f"{language!r} (set language = {persona.language!r} or choose another persona)"])
    return persona


def load(path: Path) -> Persona:
    """Read and check a persona file; a file of your own is completed by the built-in of its language."""
    data = read_toml(path, "persona")
    problems = _check(data)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    language = data["language"]
    own = path.resolve() == (HERE / f"{language}.toml").resolve()
    base = None if own else builtin(language)
    missing = sorted(set(LINES) - set(data.get("lines", {})))
    if own and missing:
        raise ConfigError([f"{path}: lines: missing {', '.join(missing)}"])
    lines = {**(base.lines if base else {}), **data.get("lines", {})}
    return Persona(
        name=data.get("name", base.name if base else ""),
        language=language,
        lines=lines,
        prompt=data.get("prompt", base.prompt if base else ""),
        voice={**(base.voice if base else {}), **data.get("voice", {})},
    )


def _check(data: dict) -> list[str]:
    """One message per mistake, each naming its key."""
    problems = [f"{key}: unknown key (known: {', '.join(sorted(TOP_KEYS))})" for key in data if key not in TOP_KEYS]
    if data.get("language") not in LANGUAGES:
        problems.append(f"language: must be one of {', '.join(LANGUAGES)}, got {data.get('language')!r}")
    for key in ("name", "prompt"):
        if key in data and not (isinstance(data[key], str) and data[key].strip()):
            problems.append(f"{key}: must be a non-empty string")
    voice = data.get("voice", {})
    if not isinstance(voice, dict):
        problems.append("voice: must be a table [voice]")
        voice = {}
    for key, value in voice.items():
        kind = VOICE_KEYS.get(key)
        if kind is None:
            problems.append(f"voice.{key}: unknown key (known: {', '.join(VOICE_KEYS)})")
        elif not isinstance(value, (int, float) if kind is float else kind) or isinstance(value, bool):
            problems.append(f"voice.{key}: must be {kind.__name__}, got {value!r}")
        elif key == "engine" and value not in VOICE_ENGINES:
            problems.append(f"voice.engine: {value!r} is not one of {', '.join(VOICE_ENGINES)}")
        elif key in VOICE_RANGES and not VOICE_RANGES[key][0] <= value <= VOICE_RANGES[key][1]:
            problems.append(f"voice.{key}: {value!r} is out of range ({VOICE_RANGES[key][0]} to {VOICE_RANGES[key][1]})")
    lines = data.get("lines", {})
    if not isinstance(lines, dict):
        return [*problems, "lines: must be a table [lines]"]
    for key, value in lines.items():
        if key not in LINES:
            problems.append(f"lines.{key}: unknown line (known: {', '.join(sorted(LINES))})")
            continue
        parts = value if isinstance(value, dict) else {"": value}
        for part, texts in parts.items():
            where = f"lines.{key}" + (f".{part}" if part else "")
            if part and part not in (*PARTS_OF_DAY, "anytime"):
                problems.append(f"{where}: unknown part of the day (known: {', '.join(PARTS_OF_DAY)}, anytime)")
            elif not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                problems.append(f"{where}: must be a list of one or more non-empty strings")
            else:
                problems += [f"{where}: {p}" for t in texts for p in _placeholder_problems(t, LINES[key] | COMMON)]
        if isinstance(value, dict) and "anytime" not in value and not set(PARTS_OF_DAY) <= set(value):
            problems.append(f"lines.{key}: give lines for every part of the day ({', '.join(PARTS_OF_DAY)}) or anytime")
        for part, texts in parts.items():
            if key not in NAME_KNOWN and isinstance(texts, list) and texts and all("{user}" in str(t) for t in texts):
                where = f"lines.{key}" + (f".{part}" if part else "")
                problems.append(f"{where}: needs a line without {{user}}, for when the speaker does not know your name")
    return problems


def _placeholder_problems(text: str, allowed: set[str]) -> list[str]:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as e:
        return [f"{text!r}: {e} (write {{{{ and }}}} for a brace)"]
    return [f"{text!r}: unknown placeholder {{{f}}} (this line may use {', '.join(sorted(allowed))})"
            for f in fields if f not in allowed]
