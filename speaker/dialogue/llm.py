"""Open conversation: what no skill understands can go to a local language model through an
OpenAI-compatible chat endpoint (Ollama, a llama.cpp server...) on the home network.

A request never outlasts its time budget: it runs in a thread of its own and the caller stops
waiting when the budget is spent, so the pipeline is never stuck behind a slow or dead server.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

MAX_SENTENCES = 3  # an answer is spoken: keep it short whatever the model says
_THINKING = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)
_MARKUP = re.compile(r"[*_#`>|~]+")
_SENTENCE = re.compile(r"(?<=[.!?。？！])\s+")


class ChatError(Exception):
    """The model gave no usable answer; `code` says why (llm_timeout, llm_unavailable, llm_bad_reply)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def endpoint(url: str) -> str:
    """The chat completions URL from a server's address: http://host:11434, .../v1, or the full URL."""
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path.endswith("/chat/completions"):
        return url
    return url.rstrip("/") + ("/chat/completions" if path.endswith("/v1") else "/v1/chat/completions")


class Chat:
    """Asks one model for the next line of a conversation, within `timeout` seconds."""

    def __init__(self, url: str, model: str, timeout: float):
        self.url = endpoint(url)
        self.model = model
        self.timeout = timeout

    def ask(self, messages: list[dict]) -> str:
        """The model's answer, cleaned up for speaking; ChatError if there is none in time."""
        outcome: dict = {}
        worker = threading.Thread(target=self._request, args=(messages, outcome), name="llm", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive() or not outcome:
            raise ChatError("llm_timeout", f"{self.url} did not answer within {self.timeout:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

    def _request(self, messages: list[dict], outcome: dict) -> None:
        body = json.dumps({"model": self.model, "messages": messages, "stream": False}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            outcome["error"] = ChatError("llm_unavailable", f"{self.url} answered HTTP {e.code} {e.reason}")
            return
        except TimeoutError:
            outcome["error"] = ChatError("llm_timeout", f"{self.url} did not answer within {self.timeout:g} s")
            return
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            outcome["error"] = ChatError("llm_unavailable", f"cannot reach {self.url}: {reason}")
            return
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
            answer = speakable(content)
        except (ValueError, KeyError, IndexError, TypeError):
            outcome["error"] = ChatError("llm_bad_reply", f"{self.url} sent no chat answer: {raw[:120]!r}")
            return
        if not answer:
            outcome["error"] = ChatError("llm_bad_reply", f"{self.url} sent an empty answer")
            return
        outcome["answer"] = answer


def speakable(text: str) -> str:
    """A model's answer as something to say: no hidden reasoning, markup or emoji; a few sentences."""
    text = _MARKUP.sub("", _THINKING.sub("", text))
    text = "".join(c for c in text if unicodedata.category(c) != "So")
    sentences = _SENTENCE.split(" ".join(text.split()))
    return " ".join(sentences[:MAX_SENTENCES]).strip()
