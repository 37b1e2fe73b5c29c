"""Every pinned dependency has a wheel for every machine the speaker installs on: Python 3.11
(Raspberry Pi OS Bookworm) and 3.13 (Trixie), aarch64 (the Pi) and x86_64. Asks PyPI with
`pip download --only-binary`, so it needs the package index."""

import subprocess
import sys
import tempfile
import tomllib

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import ROOT

pytestmark = pytest.mark.slow

GLIBC = {"3.11": 36, "3.13": 41}  # Debian 12 has glibc 2.36, Debian 13 glibc 2.41
TARGETS = [(python, arch) for python in GLIBC for arch in ("aarch64", "x86_64")]
BUILT_FROM_SOURCE = {"llama-cpp-python"}  # no wheels on PyPI: the test server is compiled on install


def pinned(python: str) -> list[str]:
    """The requirements of pyproject.toml (package, no-deps and test) that apply on `python`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lines = [*project["project"]["dependencies"], *project["tool"]["speaker"]["no-deps"],
             *project["project"]["optional-dependencies"]["test"]]
    environment = {**default_environment(), "python_version": python, "python_full_version": f"{python}.0"}
    wanted = []
    for line in lines:
        requirement = Requirement(line)
        assert str(requirement.specifier).startswith("=="), f"{line}: pin an exact version that was measured"
        if requirement.name in BUILT_FROM_SOURCE or (requirement.marker and not requirement.marker.evaluate(environment)):
            continue
        wanted.append(f"{requirement.name}{requirement.specifier}")
    return wanted


def platforms(python: str, arch: str) -> list[str]:
    """pip takes each --platform literally: every manylinux level up to the release's glibc."""
    levels = [f"manylinux_2_{n}_{arch}" for n in range(GLIBC[python], 16, -1)]
    return [flag for tag in [*levels, f"manylinux2014_{arch}", f"linux_{arch}"] for flag in ("--platform", tag)]


def download(requirements: list[str], python: str, arch: str, folder: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                           "--python-version", python, *platforms(python, arch), "--dest", folder, *requirements],
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("python,arch", TARGETS, ids=[f"cp{p.replace('.', '')}-{a}" for p, a in TARGETS])
def test_every_pin_has_a_wheel(python, arch):
    requirements = pinned(python)
    with tempfile.TemporaryDirectory() as folder:
        if download(requirements, python, arch, folder).returncode == 0:
            return
        missing = [r for r in requirements if download([r], python, arch, folder).returncode != 0]
    assert not missing, f"no wheel for Python {python} on {arch}: {', '.join(missing)}"
