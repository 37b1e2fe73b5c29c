"""Open conversation: what no skill understands can go to a local language model through an
OpenAI-compatible chat server (llama.cpp's server, Ollama...) on this machine or the home network.

`Chat.stream()` returns at once: the request (`stream: true`, server-sent events) runs on a thread
of its own, the text is cut into sentences as it arrives, and each sentence passes `Sentences`, the
guard on what may be said aloud, before the `SentenceStream` hands it on. Nothing here blocks the
caller or raises: a slow, dead or babbling server ends in the persona's gentle line and an error.
"""

from __future__ import annotations

import difflib
import http.client
import json
import logging
import queue
import re
import socket
import threading
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator

from ..config import LlmSettings
from ..events import Error
from . import languages
from .llm_family import has_system_role, template_has_system_role, with_persona_in_first_turn

log = logging.getLogger(__name__)

TOKENS_PER_SENTENCE = 60  # asked of the server as max_tokens, per sentence we may speak
LONGEST_SENTENCE = 300  # characters without a sentence end: the model is rambling
TOP_P = 0.9  # the model picks among its likeliest words only: fewer odd turns from a small model
_END = object()  # in the sentence queue: nothing more will come


def endpoint(url: str) -> str:
    """The chat completions URL from a server's address: http://host:11434, .../v1, or the full URL."""
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path.endswith("/chat/completions"):
        return url
    return url.rstrip("/") + ("/chat/completions" if path.endswith("/v1") else "/v1/chat/completions")


class Chat:
    """One language model server, asked for the next line of a conversation."""

    def __init__(self, settings: LlmSettings):
        self.settings = settings
        self.url = endpoint(settings.url)
        self._system_role: bool | None = None  # what the server said of its template, once it answered

    def stream(self, messages: list[dict], fallback: str, on_end: Callable[[str], None] = lambda said: None,
               name: str = "", *, language: str = "en", cut_line: str = "", seed: int | None = None) -> SentenceStream:
        """Starts asking; the answer comes sentence by sentence. `fallback` is said when there is
        none, `on_end` gets the whole spoken text once the stream ends, `name` is the persona's;
        `cut_line` ends an answer whose next sentence was unsafe to say in `language`. With a `seed`
        the same messages get the same answer, whatever the server was asked before."""
        return SentenceStream(self, messages, fallback, on_end=on_end, name=name, language=language,
                              cut_line=cut_line or fallback, seed=seed)

    def body(self, messages: list[dict], *, max_tokens: int = 0, seed: int | None = None) -> bytes:
        settings = self.settings
        if not self.system_role():  # e.g. Gemma's template has no system role
            messages = with_persona_in_first_turn(messages)
        return json.dumps({"model": settings.model, "messages": messages, "stream": True,
                           "max_tokens": max_tokens or TOKENS_PER_SENTENCE * settings.max_sentences,
                           "temperature": settings.temperature, "top_p": TOP_P,
                           **({"seed": seed} if seed is not None else {})}).encode()

    def read_ahead(self, messages: list[dict]) -> threading.Thread:
        """Has the server read `messages` (the persona, the examples) before anyone asks: it keeps what
        it read, so the first question after a start is read as fast as the next ones. In the
        background; a server that is not there yet is simply not asked."""
        def ask() -> None:
            request = urllib.request.Request(self.url, self.body(messages, max_tokens=1),
                                             {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.settings.max_seconds) as response:
                    response.read()
            except (OSError, ValueError) as e:
                log.info("the language model server was not read ahead to (%s): the first question will be slower", e)

        thread = threading.Thread(target=ask, name="llm-read-ahead", daemon=True)
        thread.start()
        return thread

    def system_role(self) -> bool:
        """Whether the server's chat template takes a system message: what the server tells of its
        template (llama.cpp's llama-server at GET /props), else what is known of the model's family
        (llama-cpp-python's server and Ollama do not tell). Asked once the server answers at all."""
        if self._system_role is not None:
            return self._system_role
        props = self.url.removesuffix("/chat/completions").removesuffix("/v1") + "/props"
        try:
            with urllib.request.urlopen(props, timeout=self.settings.timeout_seconds) as response:
                template = json.load(response).get("chat_template")
        except urllib.error.HTTPError:  # answered, without a template
            template = None
        except (OSError, ValueError, AttributeError):  # not there yet, or not JSON: ask again next time
            return has_system_role(self.settings.model)
        self._system_role = (template_has_system_role(template) if isinstance(template, str) and template
                             else has_system_role(self.settings.model))
        return self._system_role


class SentenceStream:
    """A reply being written by the model: iterate it for its sentences (blocking between them).

    It ends when the reply is complete, capped, timed out, failed or closed, and never raises.
    `close()` may come from any thread. `events` gets an `Error` event as it happens:
    llm_timeout (no first word within llm.timeout_seconds), llm_unavailable (cannot reach the
    server, or it went away mid-answer), llm_bad_reply (nothing in the answer was fit to say),
    llm_unsafe (a sentence was cut: the answer ends with `cut_line`)."""

    def __init__(self, chat: Chat, messages: list[dict], fallback: str, *, on_end: Callable[[str], None], name: str,
                 language: str = "en", cut_line: str = "", seed: int | None = None):
        self.events: list[Error] = []
        self._chat = chat
        self._fallback = fallback
        self._cut_line = cut_line or fallback
        self._on_end = on_end
        known = [m["content"] for m in messages]  # the prompt, the examples, what both said before
        self._sentences = Sentences(chat.settings.max_sentences, known, name, language=language)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._ended = False  # nothing more goes into the queue
        self._closed = threading.Event()  # the listener hung up: stop handing out sentences
        self._offered = 0  # sentences put in the queue
        self._said: list[str] = []  # sentences handed out
        self._recorded = False
        self._connection: http.client.HTTPConnection | None = None
        self._first_word = threading.Event()
        settings = chat.settings
        self._timers = [threading.Timer(settings.timeout_seconds, self._first_word_late),
                        threading.Timer(settings.max_seconds, self._out_of_time)]
        for timer in self._timers:
            timer.daemon = True
            timer.start()
        threading.Thread(target=self._run, args=(messages, seed), name="llm", daemon=True).start()

    def __iter__(self) -> Iterator[str]:
        try:
            while not self._closed.is_set():
                sentence = self._queue.get()
                if sentence is _END or self._closed.is_set():
                    return
                self._said.append(sentence)
                yield sentence
        finally:
            if not self._closed.is_set():
                self._record()

    def close(self) -> None:
        """Stop: hang up on the server; iteration ends at once. What was handed out counts as said."""
        self._closed.set()
        self._end()
        self._record()

    def _record(self) -> None:
        with self._lock:
            if self._recorded:
                return
            self._recorded = True
        self._on_end(" ".join(self._said))

    # The request, on its own thread.

    def _run(self, messages: list[dict], seed: int | None) -> None:
        url = self._chat.url
        try:
            response = self._open(self._chat.body(messages, seed=seed))
            if response is not None:
                self._read(response)
        except (OSError, http.client.HTTPException) as e:
            if not self._ended:
                said = f"after {self._offered} sentences" if self._offered else "before answering"
                self._end("llm_unavailable", f"{url} went away {said}: {str(e) or type(e).__name__}")
        except (ValueError, TypeError, AttributeError) as e:  # JSON, but not a chat answer
            if not self._ended:
                self._end("llm_bad_reply", f"{url} sent something that is not a chat answer: {e}")

    def _open(self, body: bytes) -> http.client.HTTPResponse | None:
        parts = urllib.parse.urlsplit(self._chat.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname or "localhost", parts.port, timeout=self._chat.settings.max_seconds)
        with self._lock:
            if self._ended:
                return None
            self._connection = connection
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json", "Accept": "text/event-stream"})
        except OSError as e:
            if not self._ended:
                self._end("llm_unavailable", f"cannot reach {self._chat.url}: {e.strerror or e}")
            return None
        response = connection.getresponse()
        if response.status != 200:
            detail = response.read(200).decode(errors="replace").strip()
            self._end("llm_unavailable", f"{self._chat.url} answered HTTP {response.status} {response.reason}: {detail}")
            return None
        return response

    def _read(self, response: http.client.HTTPResponse) -> None:
        """Server-sent events: `data: {chunk}` lines, then `data: [DONE]`."""
        if not response.getheader("Content-Type", "").startswith("text/event-stream"):
            self._written(_content(json.loads(response.read()), "message"))  # a server that would not stream
            self._finish(complete=True)
            return
        finish_reason = None
        for line in response:
            if self._ended:
                return
            line = line.strip()
            if not line.startswith(b"data:"):
                continue  # blank lines between events, `: ping` comments
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            chunk = json.loads(data)
            if "error" in chunk:
                raise http.client.HTTPException(f"the server reported {chunk['error']}")
            self._written(_content(chunk, "delta"))
            finish_reason = (chunk.get("choices") or [{}])[0].get("finish_reason") or finish_reason
        else:
            if not self._ended:
                raise ConnectionError("the answer stopped without its end")
        self._finish(complete=finish_reason != "length")

    def _written(self, text: str) -> None:
        if text:
            self._first_word.set()
        for sentence in self._sentences.feed(text):
            self._offer(sentence)
        if self._sentences.stop:
            self._finish(complete=False)

    def _finish(self, complete: bool) -> None:
        for sentence in self._sentences.finish(complete):
            self._offer(sentence)
        if self._sentences.stop:
            log.info("cut the model's answer: %s", self._sentences.stop)
        if self._sentences.unsafe:
            self._offer(self._cut_line)
            self._end("llm_unsafe", f"cut the answer of {self._chat.url}: {self._sentences.unsafe}")
        elif self._offered:
            self._end()
        else:
            dropped = self._sentences.dropped
            why = self._sentences.stop or (f"{dropped} sentences with a URL, code or the prompt's words" if dropped
                                           else "it was empty")
            self._end("llm_bad_reply", f"nothing in the answer of {self._chat.url} was fit to say ({why})")

    def _offer(self, sentence: str) -> None:
        with self._lock:
            if not self._ended:
                self._queue.put(sentence)
                self._offered += 1

    # The time budgets, on timer threads.

    def _first_word_late(self) -> None:
        if not self._first_word.is_set():
            self._end("llm_timeout", f"{self._chat.url} did not answer within {self._chat.settings.timeout_seconds:g} s")

    def _out_of_time(self) -> None:
        if self._offered:
            self._end()
        else:
            self._end("llm_bad_reply", f"{self._chat.url} wrote no sentence within {self._chat.settings.max_seconds:g} s")

    def _end(self, code: str | None = None, message: str = "") -> None:
        """The one way the stream ends: the first call decides; an error before any sentence brings
        the gentle line. Hangs up on the server."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            if code is not None:
                log.warning("language model: %s", message)
                self.events.append(Error(code=code, message=message))
                if not self._offered and not self._closed.is_set():
                    self._queue.put(self._fallback)
            self._queue.put(_END)
            connection = self._connection
        for timer in self._timers:
            timer.cancel()
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread at once
            except OSError:
                pass


def _content(chunk: dict, key: str) -> str:
    """The text of one answer ("message") or one streamed piece of it ("delta")."""
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise ValueError(f"not a chat answer: {json.dumps(chunk)[:120]}")
    if not choices:
        return ""
    content = (choices[0].get(key) or {}).get("content")
    return content if isinstance(content, str) else ""


# The guard on what is said aloud.

_SENTENCE_END = re.compile(r"[.!?…。？！]+[\"'”’)\]]*(?=\s)|\n")
_LAST_END = re.compile(r"[.!?…。？！]+[\"'”’)\]]*(?!\d)")  # in what is left at the end, glued to a stray word
_ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|vs|e\.g|i\.e)\.$", re.IGNORECASE)
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)
# Chat-template tokens and role tags: the model has started another turn (or the template leaked).
_TEMPLATE = re.compile(r"<\|[^|>\n]{0,30}\|>|<</?SYS>>|\[/?INST\]|<(?:start|end)_of_turn>|</?s>|<bos>|<eos>|```"
                       r"|<\s*/?\s*[A-Z][A-Z_]{1,20}\s*>")  # <SYS>, </SYS>, <AUTHOR>
_OTHER_ROLE = re.compile(r"^\s*#{0,3}\s*(?:user|system|human|사용자|시스템)\s*:", re.IGNORECASE | re.MULTILINE)
_TAG = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>")  # <b>, </i>, <br/>
_STAGE = re.compile(r"(?<!\*)\*(?!\*)[^*\n]{1,80}(?<!\*)\*(?!\*)|\[[^\]\n]{0,80}\]|\([^()\n]{0,80}\)")
_EMOTICON = re.compile(r"(?<!\w)[:;=]-?[()DPp3](?!\w)|\^\^|[ㅋㅎㅠㅜ]{2,}")
_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|kr|dev)\b", re.IGNORECASE)
_CODE = re.compile(r"[{}<>\\|`]|==|=>|->|\w\(|\w_\w|^\s*\$\s|\bdef |\bimport ")
_MARKUP = re.compile(r"\*\*|__|~~|^\s*(?:#+|>+|[-*•]|\d+[.)])\s+", re.MULTILINE)
_RUN_OF_ONE_WORD = re.compile(r"\b(\w+)\b(?:\W+\1\b){3,}", re.IGNORECASE)
_INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}
_NOT_SPOKEN = {"So", "Sk", "Cs", "Co", "Cn"}  # emoji and other symbols
_ASSISTANT = ("assistant", "model", "ai", "bot")


class Sentences:
    """Cuts a model's streamed text into sentences fit to be said aloud.

    Said: plain sentences, without markup, emoji, stage directions (*smiles*, (laughs)) or hidden
    reasoning. Dropped: sentences with a URL or code, sentences with nothing to say, sentences the
    model recites from the prompt (`known`). The answer ends (`stop` says why) at a chat-template
    token or role tag (the model began another turn), at code, at a repeated sentence, at a rambling
    run of text, and after `most` sentences."""

    def __init__(self, most: int, known: list[str] = (), name: str = "", *, language: str = "en"):
        self.most = most
        self.said: list[str] = []
        self.dropped = 0  # sentences not fit to say
        self.stop = ""
        self.unsafe = ""  # why a sentence was cut (and the answer with it)
        self._language = languages.get(language)
        self._known = [_key(text) for text in known]
        self._known_sentences = [k for text in known for k in map(_key, re.split(r"(?<=[.!?。？！])\s+", text)) if len(k) > 12]
        self._name = re.compile(rf"^\s*(?:{re.escape(name)}|{'|'.join(_ASSISTANT)})\s*:\s*" if name else
                                rf"^\s*(?:{'|'.join(_ASSISTANT)})\s*:\s*", re.IGNORECASE)
        self._text = ""

    def feed(self, text: str) -> list[str]:
        """The sentences that `text`, the next piece of the answer, completes."""
        if self.stop:
            return []
        self._text = _THINKING.sub("", self._text + text)
        out: list[str] = []
        while not self.stop:
            visible = self._text.split("<think>", 1)[0]  # reasoning still being written is never said
            turns = [m for m in (_TEMPLATE.search(visible), _OTHER_ROLE.search(visible)) if m]
            turn = min(turns, key=lambda m: m.start()) if turns else None
            end = self._sentence_end(visible)
            if turn is not None and (end is None or turn.start() < end):
                out += self._take_last(visible[:turn.start()])
                self.stop = f"it began another turn with {turn.group().strip()!r}"
            elif end is not None:  # a line's end takes what is glued after its last sentence like the answer's end
                out += self._take_last(visible[:end]) if visible[end - 1] == "\n" else self._take(visible[:end])
                self._text = self._text[end:]
                if self.said and (visible[:end].endswith("\n") or self._text.lstrip(" \t").startswith("\n")):
                    self.stop = self.stop or "it began a new line"  # a spoken answer is one paragraph
            else:
                if len(visible) > LONGEST_SENTENCE:
                    self.stop = f"it wrote {len(visible)} characters without ending a sentence"
                break
        return out

    def finish(self, complete: bool = True) -> list[str]:
        """The last sentences once the answer is written: kept if the model ended them, not if it was
        cut off; an unfinished lone word after them is dropped (a small model's stray "anaknya",
        "싶어요?겪어")."""
        last, self._text = self._text.split("<think>", 1)[0], ""
        return self._take_last(last) if complete and not self.stop else []

    def _take_last(self, text: str) -> list[str]:
        """The last of the answer: its sentences, without an unfinished lone word after them."""
        ends = list(_LAST_END.finditer(text))
        split = ends[-1].end() if ends else 0
        out = self._take(text[:split]) if text[:split].strip() else []
        if len(text[split:].split()) > 1 and not self.stop:
            out += self._take(text[split:])
        return out

    def _sentence_end(self, text: str) -> int | None:
        for match in _SENTENCE_END.finditer(text):
            if not _ABBREVIATION.search(text[:match.end()]):
                return match.end()
        return None

    def _take(self, raw: str) -> list[str]:
        if len(self.said) >= self.most:
            self.stop = self.stop or f"it said {self.most} sentences"
            return []
        raw = self._name.sub("", raw.strip())
        why = unsafe(raw, self._language)
        if why:
            self.unsafe = self.stop = f"{why}: {raw[:80]!r}"
            return []
        if _CODE.search(_MARKUP.sub(" ", _TAG.sub("", _EMOTICON.sub("", raw)))):
            self.dropped += 1
            return []
        sentence = _spoken(raw)
        key = _key(sentence)
        if not key or not any(c.isalpha() for c in sentence):
            return []
        if len(sentence.split()) == 1 and not _LAST_END.search(sentence):
            self.dropped += 1  # a lone word on a line of its own: a small model's stray "bloodstream"
            return []
        if _RUN_OF_ONE_WORD.search(sentence) or key in (_key(s) for s in self.said):
            self.stop = f"it repeated itself: {sentence!r}"
            return []
        if key in self._known or len(key) > 12 and (any(key in known or (len(known) > 12 and key.startswith(known)) for known in self._known)
                              or any(difflib.SequenceMatcher(None, key, known).ratio() >= 0.8
                                     for known in self._known_sentences)):
            self.dropped += 1  # recited (or nearly) from the prompt or the examples, or the user's words said back
            return []
        self.said.append(sentence)
        if len(self.said) >= self.most:
            self.stop = f"it said {self.most} sentences"
        return [sentence]


_PHONE = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")
_DIGIT_RUN = re.compile(r"\d[\d,]{4,}")
_EMAIL = re.compile(r"[\w.+-]+\s?(?:@|\(at\))\s?[\w-]+\.\w+")


def unsafe(sentence: str, language) -> str:
    """Why `sentence` must not be said to someone who may be vulnerable, or "": contact details,
    links, what only a human has (body, age, family, job), medical or legal instructions (the
    patterns of `language`, a module of `languages`), or another language."""
    text = unicodedata.normalize("NFKC", sentence)
    if _EMAIL.search(text):
        return "an e-mail address"
    if _URL.search(text):
        return "a link"
    if any(sum(c.isdigit() for c in m.group()) >= 7 for m in _PHONE.finditer(text)):
        return "a phone number"
    if _DIGIT_RUN.search(text):
        return "a long run of digits"
    for why, pattern in language.UNSAFE:
        if pattern.search(text):
            return why
    if language.tells_a_life(text):
        return "a human's life"
    if not language.in_language(text):
        return "another language"
    return ""


def _spoken(raw: str) -> str:
    """One sentence without markup, stage directions, emoji or emoticons."""
    text = _TAG.sub("", raw)
    text = _MARKUP.sub(" ", text)
    text = _STAGE.sub(lambda m: "" if _is_stage_direction(m.group()) else m.group(), text)
    text = _EMOTICON.sub("", text)
    text = "".join(c for c in text if c not in _INVISIBLE and unicodedata.category(c) not in _NOT_SPOKEN)
    text = text.replace("*", "").replace("_", " ").replace("$$", "")
    text = " ".join(text.split())
    return re.sub(r"\s+([,.!?;:])", r"\1", text).strip(" ,;:-")


def _is_stage_direction(span: str) -> bool:
    """*smiles*, [sighs], (laughs), (smiles softly), (웃음); a longer aside or one with a number is said."""
    inside = span[1:-1]
    return span[0] in "*[" or (len(inside.split()) <= 3 and not any(c.isdigit() for c in inside))


def _key(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())
