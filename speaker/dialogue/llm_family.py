"""How to talk to a language model of one family: the chat format llama.cpp's server is started
with, and whether that format has a system role (Gemma's has none: the persona goes into the
first user turn). The installer's unit (via /etc/speaker/llm.env) and the tests both ask here.
"""

from __future__ import annotations

import re
import sys

# (the start of the model's file name or alias, lower case; llama-cpp-python's chat format; system role)
FAMILIES = (
    ("gemma", "gemma", False),
    ("llama-3", "llama-3", True),
    ("llama3", "llama-3", True),
    ("llama-2", "llama-2", True),
    ("mistral", "mistral-instruct", False),
    ("qwen", "chatml", True),
    ("phi", "chatml", True),
)
DEFAULT = ("", "chatml", True)  # most small instruct models are trained on ChatML


def family(model: str) -> tuple[str, str, bool]:
    name = model.rsplit("/", 1)[-1].lower()
    return next((f for f in FAMILIES if name.startswith(f[0])), DEFAULT)


def chat_format(model: str) -> str:
    """The --chat_format to start llama.cpp's server with for `model` (a file name or alias)."""
    return family(model)[1]


def has_system_role(model: str) -> bool:
    return family(model)[2]


def template_has_system_role(template: str) -> bool:
    """Whether a chat template (Jinja, as a server tells it) takes a system message: it refuses no
    system role (Gemma 2's raise_exception('System role not supported'), Mistral's 'Only user and
    assistant roles are supported!')."""
    refusals = re.findall(r"raise_exception\(([^)]*)\)", template)
    return not any(re.search(r"system|only user", refusal, re.IGNORECASE) for refusal in refusals)


def with_persona_in_first_turn(messages: list[dict]) -> list[dict]:
    """The system prompt moved into the first user turn, for a template without a system role."""
    system = " ".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


if __name__ == "__main__":  # deploy/install.sh: python speaker/dialogue/llm_family.py MODEL_NAME (no imports)
    print(chat_format(sys.argv[1]))
