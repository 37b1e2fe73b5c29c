"""The layers of README's "How one sentence flows", kept true: an import that crosses a layer the wrong
way fails here (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "speaker"

FOUNDATION = {"config", "events", "audio", "commands", "payload", "chimes"}  # what every layer may use
DOORS = {"mqtt", "gpio", "service"}  # the home's ways in and out: they see events and commands only
SERVED = {"wyoming"}  # a door that serves the stages themselves to the home (Assist's engines and agent)
TOP = {"assembly", "daemon", "cli", "__main__"}  # build and run everything
TESTING = {"testing"}


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top in FOUNDATION:
        return "foundation"
    if top in DOORS:
        return "door"
    if top in SERVED:
        return "served"
    if top in TOP:
        return "top"
    if top in TESTING:
        return "testing"
    if top == "pipeline":
        return "pipeline"
    return "stage"  # wake, echo, endpoint, stt, dialogue, voice, speech, playback, ...


MAY_IMPORT = {
    "foundation": {"foundation"},
    "stage": {"foundation", "stage"},
    "pipeline": {"foundation", "stage"},
    "door": {"foundation", "door"},
    "served": {"foundation", "stage", "served"},
    "top": {"foundation", "stage", "pipeline", "door", "served", "top"},
    "testing": {"foundation", "stage", "pipeline", "door", "served", "top", "testing"},
}


def modules() -> list[str]:
    return sorted(".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py"))


def imports_of(module: str) -> set[str]:
    """The speaker modules `module` imports, anywhere in the file but under `if TYPE_CHECKING:`."""
    path = PACKAGE.joinpath(*module.split(".")).with_suffix(".py")
    package = module.split(".")[:-1]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            target = [*package[:len(package) - node.level + 1], *(node.module.split(".") if node.module else [])]
            if node.module:
                found.add(".".join(target))
            for alias in node.names if not node.module else ():  # "from . import x": a module, or the package's
                name = [*target, alias.name]
                found.add(".".join(name if is_module(name) else target))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("speaker.") for a in node.names if a.name.startswith("speaker.")}
    return {f for f in found if f}


def is_module(parts: list[str]) -> bool:
    path = PACKAGE.joinpath(*parts)
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


@pytest.mark.parametrize("module", modules())
def test_imports_go_down_the_layers_only(module):
    crossing = {i for i in imports_of(module) if layer(i) not in MAY_IMPORT[layer(module)]}
    assert not crossing, f"{module} ({layer(module)}) imports {sorted(crossing)}"


def test_the_layer_check_sees_a_crossing():
    assert "pipeline" in imports_of("assembly") and layer("pipeline") not in MAY_IMPORT["door"]
    assert {"events", "commands"} <= imports_of("interpreter")
