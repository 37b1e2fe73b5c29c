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


# -- the size and shape of classes (the developers' guide) ---------------------------------------

MOST_LINES = 300  # no class in speaker/ is longer
MOST_POSITIONAL = 3  # a constructor takes at most this many arguments by position; the rest by name


def classes() -> list[tuple[str, ast.ClassDef]]:
    return [(module, node) for module in modules()
            for node in ast.walk(ast.parse(PACKAGE.joinpath(*module.split(".")).with_suffix(".py").read_text()))
            if isinstance(node, ast.ClassDef)]


def positional(cls: ast.ClassDef) -> list[str]:
    """The parameters of the class's constructor that may be given by position: its own `__init__`'s,
    or a dataclass's fields up to `kw_only=True` or `_: KW_ONLY` (ClassVars and `init=False` aside)."""
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is not None:
        return [a.arg for a in [*init.args.posonlyargs, *init.args.args][1:]]
    dataclass = next((d for d in cls.decorator_list if ast.unparse(d).startswith("dataclass")), None)
    if dataclass is None or "kw_only=True" in ast.unparse(dataclass):
        return []
    names = []
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        annotation, value = ast.unparse(node.annotation), ast.unparse(node.value) if node.value else ""
        if annotation == "KW_ONLY":
            break
        if not annotation.startswith("ClassVar") and "init=False" not in value and "kw_only=True" not in value:
            names.append(node.target.id)
    return names


def test_no_class_is_longer_than_the_guide_allows():
    long = {f"{module}.{cls.name}": cls.end_lineno - cls.lineno + 1 for module, cls in classes()
            if cls.end_lineno - cls.lineno + 1 > MOST_LINES}
    assert not long, long


def test_constructors_take_their_arguments_by_name():
    """`def __init__(self, a, b, *, c, d)` (or a keyword-only dataclass), like gpiozero: a call reads as
    what each argument is, and a new argument cannot shift the others."""
    by_position = {f"{module}.{cls.name}": names for module, cls in classes()
                   if len(names := positional(cls)) > MOST_POSITIONAL}
    assert not by_position, by_position


def test_the_shape_checks_see_what_they_check():
    tree = ast.parse("from dataclasses import dataclass, KW_ONLY\n"
                     "class A:\n    def __init__(self, a, b, c, d=1):\n        pass\n"
                     "class B:\n    def __init__(self, a, b, c, *, d=1):\n        pass\n"
                     "@dataclass(frozen=True)\nclass C:\n    a: int\n    b: int\n    c: int\n    d: int = 0\n"
                     "@dataclass\nclass D:\n    a: int\n    _: KW_ONLY\n    b: int\n    c: int\n    d: int\n"
                     "@dataclass(kw_only=True)\nclass E:\n    a: int\n    b: int\n    c: int\n    d: int\n")
    found = {cls.name: positional(cls) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)}
    assert found == {"A": ["a", "b", "c", "d"], "B": ["a", "b", "c"], "C": ["a", "b", "c", "d"], "D": ["a"], "E": []}
    assert max(cls.end_lineno - cls.lineno + 1 for _, cls in classes()) > 100  # the lengths are read


# -- stage construction ---------------------------------------------------------------------------

def test_the_stages_are_put_together_in_assembly_only():
    """`Stages` holds what it is given (no default that builds a stage), and only assembly.py gives it."""
    import dataclasses

    from speaker.stages import Stages

    assert not [f.name for f in dataclasses.fields(Stages) if f.default_factory is not dataclasses.MISSING]
    trees = {m: ast.parse(PACKAGE.joinpath(*m.split(".")).with_suffix(".py").read_text()) for m in modules()}
    builders = {m for m, tree in trees.items() for node in ast.walk(tree)
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "Stages"}
    assert builders == {"assembly"}
