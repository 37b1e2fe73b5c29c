"""Personas: switched in the config without code, completed by the built-in one, and a mistake in
one is refused with the file and the key named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import recording, run_speaker, write_wav
from speaker.config import ConfigError, Settings, VoiceSettings
from speaker.dialogue import Dialogue
from speaker.dialogue.persona import builtin, find, load


def write(tmp_path: Path, text: str, name: str = "grace.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GRACE = '''name = "Grace"
language = "en"
[voice]
rate = 140
[lines]
SpeakerThank = ["My pleasure, truly."]
SpeakerGreet.morning = ["Morning, sunshine."]
SpeakerGreet.anytime = ["Hello, dear."]
'''


def test_a_persona_of_your_own_is_switched_in_by_config_and_completed_by_the_built_in(tmp_path):
    path = write(tmp_path, GRACE)
    d = Dialogue.from_settings(Settings(persona=str(path)))
    assert d.persona.name == "Grace"
    assert "Grace" in d.reply("what's your name").text
    assert d.reply("thank you").text == "My pleasure, truly."
    assert d.reply("what time is it").text  # a line it left out comes from Samantha's
    assert d.persona.voice == {**builtin("en").voice, "rate": 140}


def test_a_built_in_persona_is_chosen_by_name_and_must_speak_the_language():
    assert find("ko", "ko").name == "사만다"
    assert find("", "en").name == "Samantha"
    with pytest.raises(ConfigError, match=r"ko\.toml: language: this persona speaks 'ko'"):
        find("ko", "en")
    with pytest.raises(ConfigError, match=r"persona: no built-in persona 'bob' \(built in: en, ko"):
        find("bob", "en")


def test_the_persona_sets_the_voice_unless_the_config_file_does(tmp_path):
    assert builtin("ko").voice_settings(VoiceSettings()).ko_voice == "ko+f3"
    grace = load(write(tmp_path, GRACE))
    assert grace.voice_settings(VoiceSettings()).rate == 140
    assert grace.voice_settings(VoiceSettings(rate=200)).rate == 200  # set in speaker.toml: kept


@pytest.mark.parametrize("text, problem", [
    ('name = "Bo"\nlanguage = "en"\n[lines\n', "not valid TOML"),
    ('name = "Bo"\nlanguage = "fr"\n', "language: must be one of en, ko, got 'fr'"),
    ('nmae = "Bo"\nlanguage = "en"\n', "nmae: unknown key"),
    ('name = ""\nlanguage = "en"\n', "name: must be a non-empty string"),
    ('language = "en"\n[lines]\nSpeakerThank = "Sure."\n', "lines.SpeakerThank: must be a list of one or more non-empty strings"),
    ('language = "en"\n[lines]\nSpeakerThank = []\n', "lines.SpeakerThank: must be a list"),
    ('language = "en"\n[lines]\nSpeakerThanks = ["Sure."]\n', "lines.SpeakerThanks: unknown line"),
    ('language = "en"\n[lines]\nHassGetCurrentTime = ["It is {tme}."]\n',
     "lines.HassGetCurrentTime: 'It is {tme}.': unknown placeholder {tme} (this line may use is, name, time, user)"),
    ('language = "en"\n[lines]\nSpeakerThank = ["Sure {"]\n', "lines.SpeakerThank: 'Sure {'"),
    ('language = "en"\n[lines]\nSpeakerThank = ["Sure, {user}."]\n', "lines.SpeakerThank: needs a line without {user}"),
    ('language = "en"\n[lines]\nSpeakerGreet.noon = ["Hi."]\n', "lines.SpeakerGreet.noon: unknown part of the day"),
    ('language = "en"\n[lines]\nSpeakerGreet.morning = ["Hi."]\n', "lines.SpeakerGreet: give lines for every part of the day"),
    ('language = "en"\n[voice]\nrate = "fast"\n', "voice.rate: must be int, got 'fast'"),
    ('language = "en"\n[voice]\npitch = 300\n', "voice.pitch: 300 is out of range (0 to 100)"),
    ('language = "en"\n[voice]\nspeed = 1\n', "voice.speed: unknown key"),
])
def test_a_malformed_persona_is_refused_naming_the_file_and_the_key(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load(path)
    assert any(p.startswith(f"{path}: ") and problem in p for p in e.value.problems), e.value.problems


def test_every_mistake_is_listed_at_once(tmp_path):
    path = write(tmp_path, 'language = "xx"\ncolour = 1\n[lines]\nSpeakerThank = [1]\n')
    with pytest.raises(ConfigError) as e:
        load(path)
    assert len(e.value.problems) == 3


def test_the_speaker_refuses_a_bad_persona_before_it_starts(tmp_path):
    persona = write(tmp_path, 'language = "en"\n[lines]\nSpeakerThank = ["Sure, {usr}."]\n')
    config = write(tmp_path, f'persona = "{persona}"\n', "speaker.toml")
    for command in (["check-config", config], ["ask", "thank you", "--config", config],
                    ["run", "--config", config, "--input", write_wav(tmp_path / "quiet.wav", recording(0.5))]):
        result = run_speaker(*command)
        assert result.returncode == 2, command
        assert f"{persona}: lines.SpeakerThank" in result.stderr.decode() and "{usr}" in result.stderr.decode()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_built_in_line_is_short_enough_to_speak(language):
    """One to three sentences (a nudge may follow a feeling's line: together at most four)."""
    persona = builtin(language)
    for key, lines in persona.lines.items():
        for line in (lines if isinstance(lines, list) else [t for part in lines.values() for t in part]):
            sentences = len(re.findall(r"[.!?](?:\s|$)", line.strip())) or 1
            assert sentences <= 3, (key, line)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_nudge_without_a_known_person_names_no_one(language):
    from speaker.dialogue import languages

    relations = languages.get(language).RELATIONS
    persona = builtin(language)
    for line in persona.lines["nudge"]:
        words = set(re.findall(r"\w+", line.lower()))
        assert not words & relations and not any(r in line for r in relations if not r.isascii())  # 친구랑: in a word
