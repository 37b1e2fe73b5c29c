"""The developers' scripts (scripts/, deploy/, CI's): shellcheck clean, and those that make a Debian
root mount nothing in the checkout: their mounts live in namespaces that end with them."""

import re
import subprocess

import pytest

from conftest import ROOT

SCRIPTS = sorted([*(p for p in (ROOT / "scripts").iterdir() if p.is_file()), *(ROOT / "scripts" / "lib").glob("*.sh"),
                  ROOT / "deploy" / "install.sh", ROOT / "deploy" / "python-packages", ROOT / ".ci" / "run"])
ROOT_MAKERS = [ROOT / "scripts" / "test-trixie", ROOT / "scripts" / "home-assistant"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_script_is_shellcheck_clean(script):
    result = subprocess.run(["shellcheck", "-x", str(script)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def commands(path) -> str:
    """The script's code, its comments left out."""
    return "\n".join(line.split("#")[0] for line in path.read_text().splitlines())


@pytest.mark.parametrize("script", ROOT_MAKERS, ids=lambda p: p.name)
def test_a_debian_root_is_entered_in_namespaces_of_its_own_and_nothing_is_mounted_into_it(script):
    """A bind mount of /dev left inside a root under build/ once failed CI after every test passed."""
    own, library = commands(script), commands(ROOT / "scripts" / "lib" / "debian-root.sh")
    assert "source scripts/lib/debian-root.sh" in own and 'exec "${INSIDE[@]}"' in own
    assert not re.search(r"(?<![-\w])(u?mount|chroot)\s", own), "a mount or chroot of its own"
    assert not re.search(r"(?<![-\w])u?mount\s", library), "a mount outside a namespace"
    inside = re.search(r"INSIDE=\((.*?)\)", library, re.S).group(1).split()
    assert inside[:6] == ["unshare", "--mount", "--pid", "--fork", "--kill-child", '--mount-proc="$root/proc"']
    assert inside[6:8] == ["chroot", '"$root"'] and library.count("chroot") == 1
    assert "mknod" in library and library.count("debootstrap --variant") == 1
    assert "unshare --mount debootstrap" in library
