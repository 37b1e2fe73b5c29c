"""Settings: the shipped config file, validation messages, and `speaker check-config`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conftest import ROOT, run_speaker
from speaker import __version__
from speaker.config import ConfigError, Settings, load, parse

CONFIG = ROOT / "config" / "speaker.toml"


def documented_keys() -> dict[str, str]:
    """`section.key` (or `key` at the top) -> the line just above it in config/speaker.toml."""
    keys, section, previous = {}, "", ""
    for line in CONFIG.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if m := re.fullmatch(r"\[(\w+)\]", stripped):
            section = m.group(1)
        elif m := re.match(r"(\w+)\s*=", stripped):
            keys[f"{section}.{m.group(1)}" if section else m.group(1)] = previous
        previous = stripped
    return keys


def all_settings_keys() -> list[str]:
    keys = []
    for f in dataclasses.fields(Settings):
        value = getattr(Settings(), f.name)
        if dataclasses.is_dataclass(value):
            keys += [f"{f.name}.{sub.name}" for sub in dataclasses.fields(value)]
        else:
            keys.append(f.name)
    return keys


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse(data)
    assert str(e.value) == "\n".join(e.value.problems)
    return e.value.problems


def write(tmp_path, text: str):
    path = tmp_path / "speaker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def err(result) -> str:
    return result.stderr.decode()


# --- the shipped file ---------------------------------------------------------------------------

def test_the_shipped_config_is_exactly_the_defaults():
    assert load(CONFIG) == Settings()


def test_no_file_means_the_defaults():
    assert parse({}) == Settings()


@pytest.mark.parametrize("key", all_settings_keys())
def test_every_setting_is_documented_in_the_shipped_config(key):
    documented = documented_keys()
    assert key in documented, f"{key} is missing from config/speaker.toml"
    assert documented[key].startswith("#"), f"{key} has no comment line just above it"


def test_the_shipped_config_has_no_keys_the_code_does_not_know():
    assert set(documented_keys()) == set(all_settings_keys())


# --- validation ----------------------------------------------------------------------------------

def test_values_are_read_from_the_file(tmp_path):
    path = write(tmp_path, 'device_id = "kitchen-1"\nlanguage = "ko"\n'
                           '[wake]\nmodels = ["alexa", "okay_nabu"]\nthreshold = 0.7\ntrigger_frames = 3\n'
                           '[voice]\nrate = 200\nvolume = 1\n[log]\nlevel = "debug"\n')
    s = load(path)
    assert (s.device_id, s.language) == ("kitchen-1", "ko")
    assert s.wake.models == ("alexa", "okay_nabu") and s.wake.threshold == 0.7 and s.wake.trigger_frames == 3
    assert s.voice.rate == 200 and s.voice.volume == 1.0 and isinstance(s.voice.volume, float)
    assert s.log.level == "debug"
    assert s.listen == Settings().listen  # untouched sections keep their defaults


def test_overrides_win_over_the_file(tmp_path):
    assert load(write(tmp_path, 'language = "en"\n'), {"language": "ko"}).language == "ko"


@pytest.mark.parametrize("data, key, words", [
    ({"wake": {"treshold": 0.5}}, "wake.treshold", "unknown key"),
    ({"colour": "red"}, "colour", "unknown key"),
    ({"mqtt": {"host": "x"}}, "mqtt.host", "unknown key"),
    ({"mqtt": {"url": "http://broker"}}, "mqtt.url", "is not mqtt://"),
    ({"mqtt": {"url": "mqtt://broker:99999"}}, "mqtt.url", "bad port"),
    ({"mqtt": {"prefix": "home/speakers"}}, "mqtt.prefix", "single topic level"),
    ({"mqtt": {"queue_limit": 0}}, "mqtt.queue_limit", "out of range"),
    ({"mqtt": {"devices": [{"names": ["lamp"]}]}}, "mqtt.devices[0]", "needs names and a topic"),
    ({"mqtt": {"devices": [{"names": ["lamp"], "topic": "z/lamp", "colour": 1}]}}, "mqtt.devices[0].colour",
     "unknown key"),
    ({"mqtt": {"devices": {"lamp": "z/lamp"}}}, "mqtt.devices", "list of tables"),
    ({"wake": {"threshold": "high"}}, "wake.threshold", "must be float"),
    ({"wake": {"trigger_frames": 2.5}}, "wake.trigger_frames", "must be int"),
    ({"wake": {"silence_gate": "yes"}}, "wake.silence_gate", "must be bool"),
    ({"voice": {"rate": True}}, "voice.rate", "must be int"),
    ({"audio": {"retry_seconds": False}}, "audio.retry_seconds", "must be float"),
    ({"audio": {"input_device": 2}}, "audio.input_device", "must be str"),
    ({"wake": {"models": "hey_jarvis"}}, "wake.models", "list"),
    ({"wake": {"models": []}}, "wake.models", "at least one"),
    ({"wake": {"models": ["alexa", ""]}}, "wake.models", "non-empty"),
    ({"wake": "hey_jarvis"}, "wake", "must be a table"),
    ({"wake": {"threshold": 1.5}}, "wake.threshold", "out of range"),
    ({"wake": {"threshold": 0}}, "wake.threshold", "out of range"),
    ({"wake": {"threshold": float("nan")}}, "wake.threshold", "out of range"),
    ({"wake": {"trigger_frames": 0}}, "wake.trigger_frames", "out of range"),
    ({"listen": {"silence_seconds": 0.05}}, "listen.silence_seconds", "out of range"),
    ({"listen": {"max_seconds": 120}}, "listen.max_seconds", "out of range"),
    ({"listen": {"vad_threshold": 0.99}}, "listen.vad_threshold", "out of range"),
    ({"voice": {"rate": 1000}}, "voice.rate", "out of range"),
    ({"voice": {"pitch": -1}}, "voice.pitch", "out of range"),
    ({"voice": {"volume": 1.1}}, "voice.volume", "out of range"),
    ({"audio": {"retry_seconds": 0}}, "audio.retry_seconds", "out of range"),
    ({"language": "fr"}, "language", "not one of en, ko"),
    ({"log": {"level": "verbose"}}, "log.level", "not one of debug, info, warning, error"),
    ({"wyoming": {"port": 0}}, "wyoming.port", "out of range"),
    ({"wyoming": {"port": 70000}}, "wyoming.port", "out of range"),
    ({"wyoming": {"host": "kitchen.local"}}, "wyoming.host", "IPv4 address"),
    ({"wyoming": {"host": "::1"}}, "wyoming.host", "IPv4 address"),
    ({"wyoming": {"enabled": "yes"}}, "wyoming.enabled", "must be bool"),
])
def test_a_bad_value_is_refused_naming_its_key(data, key, words):
    problems = problems_of(data)
    assert len(problems) == 1
    assert problems[0].startswith(f"{key}: ") and words in problems[0], problems[0]


@pytest.mark.parametrize("section, key, low, high", [
    ("wake", "threshold", 0.01, 0.99), ("voice", "rate", 60, 400), ("voice", "pitch", 0, 100),
    ("listen", "no_speech_seconds", 0.5, 60), ("wyoming", "port", 1, 65535),
])
def test_range_limits_themselves_are_allowed(section, key, low, high):
    for value in (low, high):
        assert getattr(getattr(parse({section: {key: value}}), section), key) == value


def test_every_problem_is_reported_at_once():
    problems = problems_of({
        "device_id": "living room", "language": "de",
        "wake": {"threshold": 7, "colour": "red"}, "voice": {"rate": "fast"}, "log": {"level": "loud"},
    })
    named = sorted(p.split(":")[0] for p in problems)
    assert named == sorted(["device_id", "language", "wake.threshold", "wake.colour", "voice.rate", "log.level"])


@pytest.mark.parametrize("device", ["living room", "", "스피커", "kitchen/1", "a.b"])
def test_a_bad_device_id_is_refused(device):
    problems = problems_of({"device_id": device})
    assert len(problems) == 1 and problems[0].startswith("device_id: ")


@pytest.mark.parametrize("device", ["kitchen", "living-room_2", "Pi4"])
def test_a_good_device_id_is_kept(device):
    assert parse({"device_id": device}).device_id == device


def test_problems_in_a_file_name_the_file_and_the_key(tmp_path):
    path = write(tmp_path, "[wake]\nthreshold = 2.0\n[voice]\npitch = 500\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert len(e.value.problems) == 2
    assert all(p.startswith(f"{path}: ") for p in e.value.problems)
    assert "wake.threshold" in e.value.problems[0] and "voice.pitch" in e.value.problems[1]


def test_invalid_toml_says_so_with_the_line(tmp_path):
    path = write(tmp_path, "[wake]\nthreshold = = 0.5\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    (problem,) = e.value.problems
    assert problem.startswith(f"{path}: not valid TOML") and "line 2" in problem


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(tmp_path / "nope.toml")
    assert e.value.problems == [f"{tmp_path / 'nope.toml'}: no such config file"]


def test_a_directory_instead_of_a_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(tmp_path)
    assert e.value.problems[0].startswith(f"{tmp_path}: cannot read")


def test_an_empty_english_model_is_refused():
    with pytest.raises(ConfigError) as e:
        parse({"stt": {"en_model": ""}})
    assert "stt.en_model" in str(e.value)


# --- the command line ----------------------------------------------------------------------------

def test_check_config_accepts_the_shipped_file():
    result = run_speaker("check-config", CONFIG)
    assert result.returncode == 0, err(result)
    assert result.stdout.decode().strip() == f"{CONFIG}: ok"


def test_check_config_lists_every_bad_key(tmp_path):
    path = write(tmp_path, 'device_id = "a b"\n[wake]\nthreshold = 2\ntreshold = 1\n[voice]\nrate = "fast"\n')
    result = run_speaker("check-config", path)
    assert result.returncode == 2
    lines = err(result).splitlines()
    assert len(lines) == 4 and all(line.startswith(f"error: {path}: ") for line in lines)
    for key in ("device_id", "wake.threshold", "wake.treshold", "voice.rate"):
        assert any(f": {key}: " in line for line in lines), key
    assert "ok" not in result.stdout.decode()


def test_check_config_on_invalid_toml_and_on_a_missing_file(tmp_path):
    bad = run_speaker("check-config", write(tmp_path, "language = \n"))
    assert bad.returncode == 2 and "not valid TOML" in err(bad) and "Traceback" not in err(bad)
    missing = run_speaker("check-config", tmp_path / "nope.toml")
    assert missing.returncode == 2 and "no such config file" in err(missing) and "Traceback" not in err(missing)


def test_check_config_refuses_an_unknown_wake_word(tmp_path):
    result = run_speaker("check-config", write(tmp_path, '[wake]\nmodels = ["hey_jarvis", "hey_computer"]\n'))
    assert result.returncode == 2
    assert re.search(r"^error: .*wake\.models: .*'hey_computer'", err(result), re.M), err(result)


def test_check_config_refuses_an_unknown_voice(tmp_path):
    result = run_speaker("check-config", write(tmp_path, '[voice]\nen_voice = "xx-nobody"\n'))
    assert result.returncode == 2
    assert re.search(r"^error: .*voice\.en_voice: .*'xx-nobody'", err(result), re.M), err(result)


def test_check_config_reports_wake_word_and_voice_problems_together(tmp_path):
    path = write(tmp_path, '[wake]\nmodels = ["hey_computer"]\n[voice]\nen_voice = "en-us+nobody"\n')
    result = run_speaker("check-config", path)
    assert result.returncode == 2
    assert "wake.models" in err(result) and "voice.en_voice" in err(result)


def test_check_config_refuses_an_unknown_voice_of_the_other_language(tmp_path):
    result = run_speaker("check-config", write(tmp_path, 'language = "en"\n[voice]\nko_voice = "xx-nobody"\n'))
    assert result.returncode == 2 and "voice.ko_voice" in err(result)


def test_version():
    result = run_speaker("--version")
    assert result.returncode == 0 and result.stdout.decode().strip() == f"speaker {__version__}"


@pytest.mark.parametrize("command, option", [
    ([], "COMMAND"), (["run"], "--events-jsonl"), (["say"], "--output"), (["detect"], "wav"),
    (["transcribe"], "--language"), (["check-config"], "path"),
])
def test_help(command, option):
    result = run_speaker(*command, "--help")
    assert result.returncode == 0 and option in result.stdout.decode()


def test_no_command_is_a_usage_error():
    result = run_speaker()
    assert result.returncode == 2 and "usage:" in err(result)


def test_a_config_that_is_not_utf8_is_a_clear_error_for_check_config_and_run(tmp_path):
    path = tmp_path / "speaker.toml"
    path.write_bytes('persona = "사만다"\n'.encode("euc-kr"))  # saved by an editor in the wrong encoding
    for result in (run_speaker("check-config", path), run_speaker("run", "--config", path, "--input", "x.wav")):
        assert result.returncode == 2
        assert err(result).strip() == f"error: {path}: not UTF-8 text (byte 11 is 0xbb); save it as UTF-8"


@pytest.mark.skipif(Path("/dev/gpiochip0").exists(), reason="this machine has GPIO pins")
def test_check_config_refuses_the_gpio_pins_that_run_refuses(tmp_path):
    path = write(tmp_path, "[gpio]\nled_pins = [18]\nbutton_pin = 5\n")
    check = run_speaker("check-config", path)
    run = run_speaker("run", "--config", path, "--input", ROOT / "nowhere.wav")
    assert check.returncode == 2 and "ok" not in check.stdout.decode()
    refused = "gpio.led_pins: this machine has no GPIO pins; remove this setting (it is for a Raspberry Pi)"
    assert f"error: {path}: {refused}" in err(check).splitlines()
    assert err(check).count("this machine has no GPIO pins") == 2  # led_pins and button_pin, as run says


def test_check_config_accepts_gpio_pins_that_open(tmp_path):
    path = write(tmp_path, "[gpio]\nled_pins = [17, 27, 22]\nbutton_pin = 5\nmute_switch_pin = 6\n")
    result = run_speaker("check-config", path, env={"GPIOZERO_PIN_FACTORY": "mock",
                                                    "GPIOZERO_MOCK_PIN_CLASS": "mockpwmpin"})
    assert result.returncode == 0, err(result)


def test_without_config_the_speaker_config_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, 'language = "ko"\n')
    monkeypatch.setenv("SPEAKER_CONFIG", str(path))
    assert load().language == "ko"
    monkeypatch.setenv("SPEAKER_CONFIG", "")  # set and empty: the defaults, whatever /etc holds
    assert load() == Settings()
