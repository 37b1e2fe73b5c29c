"""Speech to text, grammar first, by vosk or pocketsphinx, with free recognition beside it.

While the user talks, every frame goes to two recognisers: one restricted to the sentences the speaker
understands (fast and exact even on a Pi), on the caller's thread, and a free one (slower) on its own
worker (`FreePass`), so that its result is ready soon after the speech ends and nothing waits for it on
the pipeline's thread: `end()` closes the utterance, `result(timeout)` says what was said once it is
known. The engine is chosen once, at start: vosk (Korean; English when its model is installed), else
pocketsphinx, whose US English model comes with its Python package. Both give candidate texts out;
`choose` decides among them, the same for both: recogniser tokens (`[2]`, `<unk>`) never reach the
dialogue, free text that is mostly unknown words is nothing heard, and a command whose numbers the two
passes hear differently, or that the grammar pass was unsure of and free recognition did not hear, is
not acted on. After a question the grammar pass may listen for its expected answers alone
(`start(expecting=...)`): a small grammar hears short words ("싫어", "no") a whole one cannot hold.
What both passes left not understood, a command they were unsure of, or a sentence free recognition
doubted, Whisper (`stt_whisper`) may hear again, on its own worker, when the language has it
(`[stt] en_rehear`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import itertools
import json
import logging
import mmap
import queue
import random
import re
import struct
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .audio import SAMPLE_RATE, frames_of
from .config import ModelMissing, Settings, data_dir
from .dialogue import languages
from .dialogue.matcher import ACTS, Heard, Unsure
from .stt_whisper import Whisper

log = logging.getLogger(__name__)

ALTERNATIVES = 10
FREE_ALTERNATIVES = 3  # free recognition's texts a command's numbers are checked against
ALTERNATIVES_TRUSTED = 3  # a sentence further down the list is more often a forced fit than what was said
SPHINX_FIT = 0.85  # the grammar's fit below this share of the phone loop's: not a known sentence (see SphinxEngine)
AGREEING_SHARE = 0.5  # a command free recognition understood as nothing is taken if it heard this share of its words
KNOWN_SHARE = 0.5  # a command in free text with no more of its words known to the sentences is nothing heard
_TOKEN = re.compile(r"^(\[.*\]|<.*>|\+.*\+)$")  # a recogniser's marks, not words: [2], [unk], <unk>, <sil>, +noise+
POCKETSPHINX_VERSION = "5.1.1"
_GRAMMAR_WORD = re.compile(r"[a-z0-9'.\-]+")  # words pocketsphinx's grammar is made of


def model_path(settings: Settings, language: str) -> Path:
    """The vosk model directory for `language`; ModelMissing says how to install a missing one."""
    lang = languages.get(language)
    path = settings.vosk_model_path(language)
    if path is None:  # no model named: the language's packaged one, if it has one
        try:
            package = importlib.import_module(lang.VOSK_PACKAGE) if lang.VOSK_PACKAGE else None
        except ImportError:
            package = None
        if package is None:
            raise ModelMissing(lang.VOSK_MODEL_HELP.format(dir=settings.models_dir()))
        path = Path(package.__file__).parent / "model"
    if not (path / "am").is_dir():
        if not lang.VOSK_PACKAGE and not Path(settings.vosk_model_name(language)).is_absolute():
            raise ModelMissing(lang.VOSK_MODEL_HELP.format(dir=settings.models_dir()))
        raise ModelMissing(f"stt.{language}_model: no vosk model at {path}")
    return path


def known_words(path: Path, words: set[str]) -> set[str] | None:
    """Which of `words` a vosk model can recognise (None if the model does not say)."""
    listing = path / "graph" / "words.txt"
    if listing.is_file():
        with listing.open(encoding="utf-8") as f:
            return {line.split(maxsplit=1)[0] for line in f if line.strip()} & words
    fst = path / "graph" / "Gr.fst"
    return _fst_input_symbols(fst, words) if fst.is_file() else None


def _fst_input_symbols(path: Path, wanted: set[str]) -> set[str] | None:
    """Look `wanted` up in the input symbol table stored in an OpenFst file's header, without
    copying the file (a large model's table has half a million words)."""
    encoded = {w.encode("utf-8") for w in wanted}
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 0

        def take(fmt):
            nonlocal pos
            value = struct.unpack_from(fmt, data, pos)[0]
            pos += struct.calcsize(fmt)
            return value

        def skip_text():
            nonlocal pos
            length = take("<i")
            pos += length

        if take("<I") != 0x7EB2FDD6:
            return None
        skip_text(), skip_text()  # fst type, arc type
        _version, flags = take("<i"), take("<i")
        pos += 8 * 4  # properties, start, states, arcs
        if not flags & 1 or take("<I") != 0x7EB2FB74:
            return None
        skip_text()  # table name
        _available, size = take("<q"), take("<q")
        found = set()
        for _ in range(size):
            n = take("<i")
            if data[pos : pos + n] in encoded:
                found.add(data[pos : pos + n].decode("utf-8"))
            pos += n + 8
        return found


def english_engine(settings: Settings) -> str:
    """The engine English speech uses: "vosk" or "pocketsphinx" (ModelMissing for a vosk model asked for
    by name that is not installed)."""
    wanted = settings.stt.en_engine
    if wanted == "auto":
        try:
            model_path(settings, "en")
            return "vosk"
        except ModelMissing:
            return "pocketsphinx"
    if wanted == "vosk":
        model_path(settings, "en")
    return wanted


def describe_engine(settings: Settings, language: str) -> str:
    """A line naming the speech engine for `language` and its model (ModelMissing if it has none)."""
    if languages.get(language).POCKETSPHINX and english_engine(settings) == "pocketsphinx":
        return f"pocketsphinx {POCKETSPHINX_VERSION} (its own US English model)"
    return f"vosk ({model_path(settings, language)})"


class Transcriber:
    """Streams frames into a speech engine's grammar pass (here) and free pass (on its worker), and
    says what was said in one utterance."""

    def __init__(self, settings: Settings, language: str, phrases: list[str], *, understands: Callable[[str], object],
                 intent: Callable[[str], str | None] | None = None):
        """`understands(text)`: Heard.ACTS, Heard.ANSWERS or falsy, for a known sentence word for word (see `choose`);
        `intent(text)`: the intent the dialogue finds in `text`, free text included (None: none)."""
        use_sphinx = languages.get(language).POCKETSPHINX and english_engine(settings) == "pocketsphinx"
        self.engine = SphinxEngine() if use_sphinx else VoskEngine(model_path(settings, language))
        self.understands = understands
        self.intent = intent
        self.numbers = languages.get(language).numbers
        self.free_spacing = languages.get(language).FREE_SPACING
        vocab = self.engine.known_words({w for p in phrases for w in p.split()})
        self.grammar = _grammar(phrases, vocab)
        self.vocabulary = {w for p in self.grammar for w in p.split()}
        self.engine.set_grammar(self.grammar)
        self._moments: dict[tuple[str, ...], object] = {}  # the grammars of expected answers, compiled once
        self.engine.warm_up()
        self.free_pass = FreePass(self.engine.free_decoder()) if settings.stt.free_fallback else None
        self.whisper = None  # hears again what free recognition was needed for; `intent` judges what it heard
        if settings.rehear(language) == "whisper" and self.free_pass and intent:
            try:
                self.whisper = Whisper(language, cache=data_dir())  # shared by every models_dir
            except ModelMissing as e:
                log.warning("%s; until then %s speech is not heard again", e, language)
        log.info("speech to text (%s): %s", language, self.engine.name)
        self.vosk_model = getattr(self.engine, "model", None)  # loaded once: Korean stop words share it
        self.start()

    @classmethod
    def for_dialogue(cls, settings: Settings, dialogue) -> "Transcriber":
        """The recogniser of what `dialogue` knows: its language, its sentences as the grammar, its judgement
        of a sentence heard word for word and of the intent in free text."""
        return cls(settings, dialogue.language, dialogue.phrases(), understands=dialogue.knows_word_for_word,
                   intent=dialogue.intent)

    def start(self, preroll: list[np.ndarray] = (), expecting: list[str] | None = None) -> None:
        """Begin a new utterance, with the audio from just before the speech began; `expecting`: the
        only sentences the grammar pass listens for this time (the answers to a question), if any."""
        self._partial = ""
        self._complete: dict[str, bool] = {}
        self._heard: list[str] | None = None  # the grammar pass's candidates, once the utterance ended
        self._said: str | None = None
        self._audio: list[bytes] = []  # the utterance, for Whisper to hear again
        self._heard_again: tuple[str, bool, concurrent.futures.Future] | None = None  # the passes' text, doubted, Whisper
        self._on_ready: Callable[[], None] = lambda: None  # told when Whisper has heard it again (end() sets it)
        self.engine.start(self._moment(expecting) if expecting else None)
        if self.free_pass is not None:
            self.free_pass.start()
        for frame in preroll:
            self.accept(frame)

    def _moment(self, expecting: list[str]):
        """The compiled grammar of the answers expected, without an answer that is part of another
        of a different meaning ("어", yes, in "싫어", no): a small grammar hears that part in the whole."""
        key = tuple(sorted(set(expecting)))
        if key not in self._moments:
            meaning = {p: self.intent(p) if self.intent else None for p in key}
            spaced = {p: "".join(p.split()) if self.free_spacing else f" {p} " for p in key}
            kept = [p for p in key if not any(spaced[p] in spaced[o] and meaning[o] != meaning[p] for o in key if o != p)]
            vocab = self.engine.known_words({w for p in kept for w in p.split()})
            self._moments[key] = self.engine.compile(_grammar(kept, vocab))
        return self._moments[key]

    def accept(self, frame: np.ndarray) -> str | None:
        """Feed a frame; return the partial text when it changed."""
        data = frame.tobytes()
        if self.free_pass is not None:
            self.free_pass.feed(data)
        if self.whisper is not None:
            self._audio.append(data)
        text = self.engine.accept(data)
        if text and text != self._partial:
            self._partial = text
            return text
        return None

    @property
    def complete(self) -> bool:
        """Whether what the grammar pass has heard so far is a whole known sentence (the turn may end soon)."""
        if self._partial not in self._complete:
            self._complete = {self._partial: bool(self._partial and self.understands(clean(self._partial)))}
        return self._complete[self._partial]

    def end(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """The speech ended: the grammar pass's candidates now (fast); free recognition finishes on its
        worker, and Whisper on its own, each calling `on_ready` when done."""
        self._heard = self.engine.finish()
        self._on_ready = on_ready
        if self.free_pass is not None:
            self.free_pass.end(on_ready)
        said = choose(self._heard, self.grammar, self.understands, None, checked=self.free_pass is not None)
        self._said = None if said and self.whisper is not None else said  # known, unless free recognition doubts it

    def result(self, timeout: float | None = 0.0) -> str | None:
        """What was said ('' if nothing was understood), once known: None if free recognition is still
        needed and has not finished within `timeout` seconds (None: wait for it)."""
        if self._said is not None:
            return self._said
        if self._heard is None:
            raise RuntimeError("result() before end()")
        if self._heard_again is None:  # decided once; while Whisper hears, only its answer is waited for
            free = self.free_pass.result(timeout)
            if free is None:
                return None
            said = self._choose(free)
            doubted = bool(said) and self._doubted(said, free)  # heard again though understood
            if self.whisper is None or (said and not isinstance(said, Unsure) and self.intent(said) is not None
                                        and not doubted):
                return self._settle(said)
            self._heard_again = (said, doubted, self.whisper.hear(np.frombuffer(b"".join(self._audio), np.int16)))
            self._heard_again[2].add_done_callback(lambda _, ready=self._on_ready: ready())
        said, doubted, hearing = self._heard_again
        try:
            again = hearing.result(timeout)
        except concurrent.futures.TimeoutError:
            return None
        except Exception:  # a failing Whisper costs hearing again, never the turn
            log.exception("Whisper failed")
            return self._settle(said)
        log.debug("Whisper heard %r", again)
        return self._settle(heard_again(again, said, self.intent, self.vocabulary, self.numbers, doubted=doubted))

    def _doubted(self, said: str, free: list[str]) -> bool:
        """Whether `said` is a known sentence that only answers, of whose words free recognition heard
        less than half, or in which it understood something else: the grammar pass forces other speech
        into its sentences ("tell me the time" as "thank you", free recognition hearing "filming the
        time"; "what's the temperature outside" as "what's the time"); or a command with numbers of
        which free recognition missed words (in noise both passes may take "five" for "ten")."""
        kind = self.understands(said)
        if not kind or isinstance(said, Unsure):
            return False
        free = [clean(f) for f in free]
        if kind is Heard.ACTS:
            return bool(_digits(self.numbers(said))) and _heard_share(said, free, self.free_spacing) < 1.0
        meant = {self.intent(f) for f in free if f} - {None} if self.intent is not None else set()
        return (_heard_share(said, free, self.free_spacing) < AGREEING_SHARE
                or bool(meant) and self.intent(said) not in meant)

    def _settle(self, said: str) -> str:
        self._said = said
        return said

    def _choose(self, free: list[str]) -> str:
        said = choose(self._heard, self.grammar, self.understands, free, numbers=self.numbers, intent=self.intent,
                      vocabulary=self.vocabulary, free_spacing=self.free_spacing, fitted=self.engine.fitted)
        log.debug("grammar heard %r; free recognition heard %r: %r", self._heard, free, said)
        return said

    def passes(self, timeout: float | None = 0.0) -> tuple[list[str], list[str] | None]:
        """What each pass heard of the last utterance: the grammar's candidates, best first, and free
        recognition's texts (None: off, or not finished within `timeout` seconds)."""
        free = self.free_pass.result(timeout) if self.free_pass is not None and self._heard is not None else None
        return self._heard or [], free

    def finish(self) -> str:
        """End the utterance and return its text, waiting for free recognition if it is needed."""
        self.end()
        return self.result(timeout=None)

    def transcribe(self, samples: np.ndarray) -> str:
        """Transcribe a whole recording (for `speaker transcribe`)."""
        self.start()
        for frame in frames_of(samples):
            self.accept(frame)
        return self.finish()


class FreePass:
    """Free recognition on its own worker thread, fed frame by frame while the user speaks, so that its
    result is ready soon after the speech ends; nothing that feeds it ever waits for it."""

    def __init__(self, decoder):
        self._decoder = decoder  # used only on the worker
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._utterance = 0
        self._done: tuple[int, list[str]] = (0, [])
        self._ready = threading.Condition()
        threading.Thread(target=self._work, name="free-recognition", daemon=True).start()

    def start(self) -> None:
        self._utterance += 1
        self._jobs.put((self._utterance, "start"))

    def feed(self, data: bytes) -> None:
        self._jobs.put((self._utterance, data))

    def end(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """The utterance ended; `on_ready` is called (on the worker) once its result is known."""
        self._jobs.put((self._utterance, ("end", on_ready)))

    def result(self, timeout: float | None) -> list[str] | None:
        """The free texts of the utterance that ended, best first; None if not done within `timeout` s."""
        wanted = self._utterance
        with self._ready:
            if not self._ready.wait_for(lambda: self._done[0] == wanted, timeout):
                return None
            return self._done[1]

    def _work(self) -> None:
        while True:
            utterance, job = self._jobs.get()
            if utterance != self._utterance:
                continue  # an utterance that was cut: its audio is not worth decoding
            on_ready = job[1] if isinstance(job, tuple) else lambda: None  # the utterance ended
            try:
                if job == "start":
                    self._decoder.start()
                elif isinstance(job, tuple):
                    self._tell(utterance, self._decoder.finish(), on_ready)
                else:
                    self._decoder.accept(job)
            except Exception:  # a failing decoder costs free recognition, never the worker
                log.exception("free recognition failed")
                self._tell(utterance, [], on_ready)

    def _tell(self, utterance: int, texts: list[str], on_ready: Callable[[], None]) -> None:
        with self._ready:
            self._done = (utterance, texts)
            self._ready.notify_all()
        on_ready()


def choose(heard: list[str], grammar: list[str], understands: Callable[[str], object], free: list[str] | None,
           *, checked: bool = False, numbers: Callable[[str], str] = str,
           intent: Callable[[str], str | None] | None = None, vocabulary: set[str] | None = None,
           free_spacing: bool = False, fitted: bool = False) -> str | None:
    """What was said, from the grammar pass's candidates (best first; none when the engine judged the
    speech to be outside the grammar) and free recognition's texts (`free`, best first; None when it is
    off, or, with `checked`, not heard yet: then None is returned where they would be needed).

    `understands(text)` is falsy for an unknown sentence, Heard.ACTS for one that changes something,
    anything else truthy for one that only answers. A sentence that acts is taken only as the best guess, never
    from further down the list or snapped from a near miss (out-of-grammar speech is forced into the
    grammar's words, and a wrong command is worse than asking again), and only when free recognition,
    if it heard numbers, heard the same ones, and, if it heard something `intent` understands, heard
    that command in one of its texts; if it understood nothing, the command stands when the grammar's
    own guesses all mean it, as an `Unsure` text (asked about before it is done), else only if free
    recognition heard half its words (AGREEING_SHARE: noise forced into the grammar's words shows as
    guesses of different intents). Where the grammar pass is
    `fitted` (it gives one guess, judged against a phone loop: pocketsphinx), a command with numbers
    free recognition heard none of, nor any of its words, is other speech forced into a number
    command: free recognition's text is taken as for speech outside the grammar (not so for vosk:
    its free recognition of espeak-ng's Korean hears nothing of a command its grammar pass hears
    exactly, "삼분 타이머" as "전보 좌익 업"). Else free recognition's text, unless it acts and half or
    more of its words are unknown to the sentences (noise heard as words, a made-up subject) or its
    numbers are not the grammar's; else the best candidate."""
    heard = [clean(h) for h in heard[:ALTERNATIVES_TRUSTED]]
    text = heard[0] if heard else ""
    kind = understands(text) if text else None
    if kind and kind is not Heard.ACTS:
        return text
    if kind is Heard.ACTS:
        if free is None:
            return None if checked else text
        free = [clean(f) for f in free]
        meant = {intent(f) for f in free if f} - {None} if intent is not None else set()
        sure = intent is None or all(intent(h) in (None, intent(text)) for h in heard[1:] if h)
        share = _heard_share(text, free, free_spacing)
        if not (fitted and _digits(numbers(text)) and not share and not any(_digits(numbers(f)) for f in free)):
            if not _same_numbers(text, free, numbers) or (meant and intent(text) not in meant):
                return ""
            if meant or share >= AGREEING_SHARE:
                return text
            return Unsure(text) if sure else ""
        heard, text = [], ""  # other speech forced into a number command: as if outside the grammar
    answers = [h for h in heard[1:] if h and (kind := understands(h)) and kind is not Heard.ACTS]
    if answers:
        return answers[0]
    for candidate in filter(None, heard):
        nearest = nearest_phrase(candidate, grammar)
        if nearest is not None and (kind := understands(nearest)) and kind is not Heard.ACTS:
            return nearest
    if free is None:
        return None if checked else text
    free_text = clean(free[0]) if free else ""
    if not free_text:
        return text
    if intent is not None and intent(free_text) in ACTS:
        if vocabulary is not None and _known_share(free_text, vocabulary) <= KNOWN_SHARE:
            return ""  # noise heard as words, or a command about a made-up subject
        if _digits(numbers(free_text)) != _digits(numbers(text)):
            return ""  # a command the grammar pass did not hear with these numbers
    return free_text


def heard_again(again: str, said: str, intent: Callable[[str], str | None], vocabulary: set[str],
                numbers: Callable[[str], str] = str, *, doubted: bool = False) -> str:
    """What was said, once Whisper heard again (`again`) what the grammar-first passes made `said` of
    ('' not understood, an `Unsure` command, free text no intent is found in, or, `doubted`, a known
    sentence free recognition doubted: one that only answers, or a command with numbers). Whisper
    hears far better than their free recognition, so its text is taken, with the guards against
    acting on noise: nothing heard is nothing said (what free recognition made of it was noise; an
    unsure command is still asked about, a doubted sentence stands), and a command of mostly words
    the sentences do not know is a made-up subject. A command Whisper heard as the grammar pass did keeps the grammar's words,
    and is no longer unsure, unless it has numbers: both mistake number words in noise (fifty for
    thirty), so a command with numbers that they did not both hear the same is asked about as
    Whisper heard it, and one they did is still asked about if it was."""
    if not again:
        return said if isinstance(said, Unsure) or doubted else ""
    meant = intent(again)
    if meant in ACTS and _known_share(again, vocabulary) <= KNOWN_SHARE:
        return said if doubted else ""
    if said and meant is not None and intent(said) == meant and meant in ACTS:
        if _digits(numbers(said)) != _digits(numbers(again)):
            return Unsure(again)
        return said if _digits(numbers(said)) else str(said)
    return Unsure(again) if meant in ACTS and _digits(numbers(again)) else again


def _digits(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _same_numbers(text: str, free: list[str], numbers: Callable[[str], str]) -> bool:
    """Whether free recognition, if it heard any numbers, heard `text`'s in one of its texts."""
    heard = [_digits(numbers(f)) for f in free]
    return not any(heard) or _digits(numbers(text)) in heard


def _heard_share(text: str, free: list[str], free_spacing: bool) -> float:
    """The largest share of `text`'s words that one of free recognition's texts heard too (in a
    language of free spacing, anywhere in it: "오분" in "오 분 타이머")."""
    words = text.lower().split()
    if not words:
        return 0.0
    shares = []
    for other in free:
        heard = set(other.lower().split())
        joined = "".join(other.lower().split()) if free_spacing else None
        shares.append(sum(w in heard or (joined is not None and w in joined) for w in words) / len(words))
    return max(shares, default=0.0)


def _known_share(text: str, vocabulary: set[str]) -> float:
    words = text.split()
    return sum(w in vocabulary or w.lower() in vocabulary for w in words) / len(words) if words else 0.0


def _grammar(phrases: list[str], vocab: set[str] | None) -> list[str]:
    """The phrases whose every word the engine knows (vosk would silently drop the others)."""
    if vocab is None:
        return sorted(set(phrases))
    kept = sorted({p for p in phrases if all(w in vocab for w in p.split())})
    for phrase in sorted(set(phrases) - set(kept)):
        missing = [w for w in phrase.split() if w not in vocab]
        log.debug("sentence %r left out of the grammar: the model does not know %s", phrase, missing)
    return kept


def _warm_up_noise() -> bytes:
    """A second of faint noise. Python's own generator: numpy's random module would be loaded for
    it alone, and brings OpenSSL with it (~7 MB)."""
    rng = random.Random(0)
    return np.array([rng.gauss(0.0, 300.0) for _ in range(SAMPLE_RATE)]).astype(np.int16).tobytes()


def _without_dither(path: Path, folder: Path) -> Path:
    """The vosk model at `path` seen through `folder` (links to its files), with Kaldi's dither off: it
    draws its noise from the C library's one random sequence, shared by every recogniser in the
    process, so the same speech was heard differently depending on what had been decoded before
    ("고마워" as "뭐야" about one time in ten). `dithered` adds the same noise from a generator of its own."""
    for entry in path.iterdir():
        if entry.name != "conf":
            (folder / entry.name).symlink_to(entry)
    (folder / "conf").mkdir()
    for entry in (path / "conf").iterdir():
        (folder / "conf" / entry.name).symlink_to(entry)
    features = folder / "conf" / "mfcc.conf"
    if features.exists():
        features.unlink()
        features.write_text((path / "conf" / "mfcc.conf").read_text() + "\n--dither=0\n")
    return folder


def dithered(data: bytes, noise: np.random.Generator) -> bytes:
    """int16 audio with the noise Kaldi's features add by default (Gaussian, one sample step), drawn
    from `noise`: a fresh generator per utterance hears the same speech the same way every time. The
    model was trained with it: without it, stretches of digital silence in espeak-ng's speech are
    unlike anything it heard ("멈춰" heard as "뭐야")."""
    samples = np.frombuffer(data, np.int16) + noise.standard_normal(len(data) // 2)
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16).tobytes()


class VoskEngine:
    """vosk: a grammar recogniser that returns alternatives, with "[unk]" for words outside it."""

    fitted = False  # its grammar pass does not judge whether the speech was a sentence of the grammar

    def __init__(self, path: Path):
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._path = path
        with tempfile.TemporaryDirectory(prefix="speaker-vosk-") as folder:  # vosk reads it all now
            self.model = vosk.Model(str(_without_dither(path, Path(folder))))
        self._grammar_json = "[]"
        self._vocab: set[str] | None = None
        self._spelling: dict[str, str] = {}
        self.name = f"vosk ({path.name})"

    def known_words(self, words: set[str]) -> set[str] | None:
        """The words the model knows, as written or in lower case (the English model's spelling)."""
        found = known_words(self._path, words | {w.lower() for w in words} | {"[unk]"})
        if found is None:
            return None
        self._vocab = (self._vocab or set()) | found
        return {w for w in words if w in self._vocab or w.lower() in self._vocab}

    def set_grammar(self, phrases: list[str]) -> None:
        self._grammar_json = self.compile(phrases)

    def compile(self, phrases: list[str]) -> str:
        """The grammar of `phrases` as vosk takes it (their words as the model spells them)."""
        vocab = self._vocab
        as_model = {w: w if vocab is None or w in vocab else w.lower() for p in phrases for w in p.split()}
        self._spelling.update({model: word for word, model in as_model.items() if model != word})
        grammar = [" ".join(as_model[w] for w in p.split()) for p in phrases]
        if vocab and "[unk]" in vocab:
            grammar.append("[unk]")
        return json.dumps(grammar, ensure_ascii=False)

    def new_recognizer(self, grammar: bool = True, compiled: str | None = None):
        # A fresh recogniser per utterance (under 1 ms) keeps one request from colouring the next.
        if not grammar:
            return self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        recognizer = self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE, compiled or self._grammar_json)
        recognizer.SetMaxAlternatives(ALTERNATIVES)  # the best guess may not be a sentence; the next may
        return recognizer

    def warm_up(self) -> None:
        """The first decode after loading is slow: do it now, not on the user's first request."""
        for recognizer in (self.new_recognizer(), self.new_recognizer(grammar=False)):
            recognizer.AcceptWaveform(_warm_up_noise())
            recognizer.FinalResult()

    def start(self, compiled: str | None = None) -> None:
        """A new utterance, through the whole grammar or a `compiled` one."""
        self._pass = VoskPass(self.new_recognizer(compiled=compiled), self.spell)

    def accept(self, data: bytes) -> str:
        """The text so far."""
        return self._pass.accept(data)

    def finish(self) -> list[str]:
        """The candidates for the whole utterance, best first."""
        return self._pass.finish()

    def free_decoder(self) -> "FreeVosk":
        return FreeVosk(self)

    def spell(self, text: str) -> str:
        return " ".join(self._spelling.get(w, w) for w in text.split())


class VoskPass:
    """One utterance through one vosk recogniser: the text so far, then the candidates, best first."""

    def __init__(self, recognizer, spell: Callable[[str], str]):
        self._recognizer = recognizer
        self.spell = spell
        self._noise = np.random.default_rng(0)  # the dither: the same for every utterance
        self._segments: list[list[str]] = []  # candidates of each stretch vosk ended at a pause

    def accept(self, data: bytes) -> str:
        if self._recognizer.AcceptWaveform(dithered(data, self._noise)):  # a long pause: keep what came before it
            self._segments.append(self._texts(json.loads(self._recognizer.Result())))
            return self._best_so_far()
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return f"{self._best_so_far()} {self.spell(partial)}".strip()

    def _best_so_far(self) -> str:
        return " ".join(candidates[0] for candidates in self._segments if candidates[0])

    def finish(self) -> list[str]:
        segments = [c for c in [*self._segments, self._texts(json.loads(self._recognizer.FinalResult()))] if c[0]]
        if not segments:
            return [""]
        before = " ".join(candidates[0] for candidates in segments[:-1])
        return [f"{before} {t}".strip() for t in segments[-1]]

    def _texts(self, result: dict) -> list[str]:
        """The texts of a vosk result, best first (with or without alternatives); never empty."""
        texts = [self.spell(a.get("text", "")) for a in result.get("alternatives", [result])]
        return texts or [""]


class FreeVosk:
    """vosk's free recognition (the model's own language model), an utterance at a time, on one thread."""

    def __init__(self, engine: VoskEngine):
        self._engine = engine

    def start(self) -> None:
        recognizer = self._engine.new_recognizer(grammar=False)
        recognizer.SetMaxAlternatives(FREE_ALTERNATIVES)
        self._pass = VoskPass(recognizer, self._engine.spell)

    def accept(self, data: bytes) -> None:
        self._pass.accept(data)

    def finish(self) -> list[str]:
        return self._pass.finish()


class SphinxEngine:
    """pocketsphinx with its bundled US English model: a grammar of the sentences (a graph of words
    in which shared beginnings and endings are one), and a phone loop beside it. The grammar always
    fits some sentence; when it fits the sound much worse than the phone loop does, the speech was
    something else, and free recognition (the bundled language model) takes over. No decoder loads
    the whole 134,000-word dictionary (~22 MB each): free recognition's knows the language model's
    72,500 words (it can say no others), the grammar's only the grammar's, the phone loop's none."""

    name = f"pocketsphinx {POCKETSPHINX_VERSION} (its own US English model)"
    fitted = True  # its grammar pass judges whether the speech was a sentence of the grammar

    def __init__(self):
        from pocketsphinx import Decoder, NGramModel, get_model_path

        self._decoder = lambda **search: Decoder(hmm=get_model_path("en-us/en-us"), loglevel="FATAL", **search)
        lm = get_model_path("en-us/en-us.lm.bin")
        words = _language_model_words(get_model_path("en-us/cmudict-en-us.dict"), lm)
        with _dictionary(dict([next(words)])) as first:
            self._free = self._decoder(dict=first, lm=None)
        for word, phones in words:  # a word at a time: loading the whole dictionary in one call held the GIL 0.2 s
            self._free.add_word(word, phones, False)
        self._free.add_lm("free", NGramModel(self._free.config, self._free.logmath, lm))
        self._free.activate_search("free")
        with _dictionary({"a": "AH"}) as words:  # the phone loop needs no words, but a dictionary
            self._phones = self._decoder(dict=words, allphone=get_model_path("en-us/en-us-phone.lm.bin"))
        self._grammar = None
        self._spelling: dict[str, str] = {}
        self._searches = 0
        self._listening = False

    def pronounce(self, word: str) -> str | None:
        """The phones of `word` in the bundled dictionary ("S T AA P"), None if it is not there."""
        return self._free.lookup_word(word)

    def known_words(self, words: set[str]) -> set[str]:
        return {w for w in words if self.pronounce(w.lower()) is not None and _GRAMMAR_WORD.fullmatch(w.lower())}

    def set_grammar(self, phrases: list[str]) -> None:
        words = {w.lower() for p in phrases for w in p.split()}
        with _dictionary(_pronunciations(words or {"a"}, self.pronounce)) as dictionary:
            self._grammar = self._decoder(dict=dictionary, lm=None)  # only the grammar's words: small
        self._grammar.activate_search(self.compile(phrases, "sentences"))

    def compile(self, phrases: list[str], name: str | None = None) -> str:
        """A search of `phrases` (its name, to `start` with); words the decoder lacks are added."""
        self._searches += 1
        name = name or f"moment{self._searches}"
        spelling = {w.lower(): w for p in phrases for w in p.split()}
        for word, phones in _pronunciations(set(spelling) - set(self._spelling), self.pronounce).items():
            if self._grammar.lookup_word(word) is None:
                self._grammar.add_word(word, phones, True)
        self._spelling.update(spelling)
        start, final, transitions = _word_graph([p.lower().split() for p in phrases])
        self._grammar.add_fsg(name, self._grammar.create_fsg(name, start, final, transitions))
        return name

    def warm_up(self) -> None:
        for decoder in (self._grammar, self._phones, self._free):
            decoder.start_utt()
            for frame in frames_of(np.frombuffer(_warm_up_noise(), np.int16)):  # a frame at a time: the
                decoder.process_raw(frame.tobytes(), False, False)  # GIL is held for a frame's work at most
            decoder.end_utt()

    def start(self, compiled: str | None = None) -> None:
        """A new utterance, through the whole grammar or a `compiled` search."""
        for decoder in (self._grammar, self._phones):
            if self._listening:
                decoder.end_utt()  # an utterance left unfinished (a turn that was cut)
        search = compiled or "sentences"
        if self._grammar.current_search() != search:
            self._grammar.activate_search(search)
        for decoder in (self._grammar, self._phones):
            decoder.start_utt()
        self._listening = True

    def accept(self, data: bytes) -> str:
        self._grammar.process_raw(data, False, False)
        self._phones.process_raw(data, False, False)
        hyp = self._grammar.hyp()
        return self._spell(hyp.hypstr) if hyp else ""

    def finish(self) -> list[str]:
        self._grammar.end_utt()
        self._phones.end_utt()
        self._listening = False
        sentence, phones = self._grammar.hyp(), self._phones.hyp()
        if sentence is None or not sentence.hypstr:
            return [""]
        if phones is not None and sentence.score < SPHINX_FIT * phones.score:
            log.debug("grammar heard %r, fitting %.2f against the phone loop's %.2f: not a known sentence",
                      sentence.hypstr, sentence.score, phones.score)
            return []
        return [self._spell(sentence.hypstr)]

    def free_decoder(self) -> "FreeSphinx":
        return FreeSphinx(self._free, self._spell)

    def _spell(self, text: str) -> str:
        return " ".join(self._spelling.get(w, w) for w in text.split() if not w.startswith(("<", "[", "+")))


class FreeSphinx:
    """pocketsphinx's free recognition (its bundled language model), an utterance at a time, on one thread."""

    def __init__(self, decoder, spell: Callable[[str], str]):
        self._decoder = decoder
        self._spell = spell
        self._listening = False

    def start(self) -> None:
        if self._listening:
            self._decoder.end_utt()  # an utterance that was cut
        self._decoder.start_utt()
        self._listening = True

    def accept(self, data: bytes) -> None:
        self._decoder.process_raw(data, False, False)

    def finish(self) -> list[str]:
        self._decoder.end_utt()
        self._listening = False
        hyp = self._decoder.hyp()
        return [self._spell(hyp.hypstr)] if hyp else []


def _pronunciations(words: set[str], pronounce: Callable[[str], str | None]) -> dict[str, str]:
    """Each of `words` with its phones, and its other pronunciations ("read(2)") as the dictionary has them."""
    found = {}
    for word in words:
        variant, n = word, 1
        while (phones := pronounce(variant)) is not None:
            found[variant] = phones
            n += 1
            variant = f"{word}({n})"
    return found


def _language_model_words(dictionary: str, lm: str) -> Iterator[tuple[str, str]]:
    """The words (and their phones) of the pronouncing dictionary that the binary (trie) language model
    has; the whole dictionary if the model's file is not one. Such a file ends with its words."""
    data = Path(lm).read_bytes()
    magic = b"Trie Language Model"
    vocabulary = None
    if data.startswith(magic):
        unigrams = struct.unpack_from("<I", data, len(magic) + 1)[0]
        vocabulary = set(data.rstrip(b"\0").rsplit(b"\0", unigrams)[1:])
    del data
    with open(dictionary, "rb") as f:
        for line in f:
            word, _, phones = line.decode("utf-8").strip().partition(" ")
            if phones and (vocabulary is None or word.split("(", 1)[0].encode("utf-8") in vocabulary):
                yield word, phones.strip()


@contextlib.contextmanager
def _dictionary(pronunciations: dict[str, str]):
    """A pronouncing dictionary file of just these words, for a decoder to load (then it goes)."""
    with tempfile.NamedTemporaryFile("w", suffix=".dict", encoding="utf-8") as f:
        f.writelines(f"{word} {phones}\n" for word, phones in sorted(pronunciations.items()))
        f.flush()
        yield f.name


def _word_graph(sentences: list[list[str]]) -> tuple[int, int, list[tuple]]:
    """The sentences as the smallest graph of words that says exactly them: a tree of their words in
    which equal branches are one (shared beginnings and endings are searched once). It is laid out as
    pocketsphinx lays out the JSGF grammar of that tree, as the grammar was before: a word leads to a
    state of its own, from which a null transition goes on to the next branch or to the end; each
    branch of a state equally likely, and a sentence that may end there takes half. pocketsphinx's
    scores hang on that layout, not only on the sentences' probabilities, and the grammar's fit
    decides between it and free recognition. Returns the start state, the final state and the
    transitions (from, to, probability[, word]) for pocketsphinx's create_fsg."""
    tree: dict = {}
    for words in sentences:
        node = tree
        for word in words:
            node = node.setdefault(word, {})
        node[None] = {}  # a sentence ends here
    final, numbers = 0, itertools.count(1)
    arrivals: dict[tuple, int] = {}  # a branch (what may follow, whether it may end) -> the state its words lead to
    transitions: list[tuple] = []

    def arrival(node: dict) -> int:
        following = tuple(sorted((word, arrival(rest)) for word, rest in node.items() if word is not None))
        key = (None in node, following)
        if key not in arrivals:
            arrivals[key] = here = next(numbers)
            if not following:  # the end of a sentence
                transitions.append((here, final, 1.0))
            else:
                branch = next(numbers)
                transitions.append((here, branch, 0.5 if None in node else 1.0))
                if None in node:
                    transitions.append((here, final, 0.5))
                transitions.extend((branch, to, 1.0 / len(following), word) for word, to in following)
        return arrivals[key]

    first, start = arrival(tree), next(numbers)
    # pocketsphinx takes one null transition at a time: the start takes the first state's own
    transitions += [(start, to, share) for source, to, share, *word in transitions if source == first and not word]
    return start, final, transitions


def nearest_phrase(text: str, phrases: list[str]) -> str | None:
    """The grammar is a loop over words, so it can join pieces of two sentences.
    Return the known sentence within a word of `text` (a third of its words), if exactly one is nearest."""
    words = text.split()
    if not words:
        return None
    # nearest first; among equals, the longer sentence (more of its words were heard)
    scored = sorted((_word_distance(words, p.split()), -len(p.split()), p) for p in phrases if p != "[unk]")
    if not scored:
        return None
    distance, minus_length, phrase = scored[0]
    unique = len(scored) == 1 or scored[1][:2] != (distance, minus_length)
    return phrase if unique and distance <= -minus_length // 3 else None


def _word_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two word sequences."""
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def clean(text: str) -> str:
    """`text` without a recogniser's marks ([2], [unk], <unk>): they are not words, and never said back."""
    return " ".join(w for w in text.split() if not _TOKEN.match(w))
