"""Stop words: the few words that stop the speaker while it talks ("stop", "never mind", "그만", "멈춰").

A small recogniser that runs only while the speaker talks: pocketsphinx's keyword spotting for
English (its US English model ships in the wheel), vosk with a grammar of the stop words among the
speech grammar's other words for Korean (so that other speech is heard as other words, not forced
into a stop word). It shares the Korean model the transcriber already loaded.

What the echo canceller leaves of the speaker's own voice is mostly consonants, so its own "setup"
or "steps" can come back as "stop". `sounds_like` tells, from the text of a sentence, whether
saying it could sound like a stop word: while it plays, a stop word heard is its own.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Callable

import numpy as np

from .audio import SAMPLE_RATE
from .dialogue import languages
from .stt import dithered

KEYWORD_THRESHOLD = 1e-15  # pocketsphinx's keyword threshold, lower hears more: in the simulated room 1e-20 heard
                           # "stop" in what the canceller left of ordinary answers, 1e-15 did not (13 min)
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_WORD = re.compile(r"[a-z']+")


class StopWords:
    """Takes frames; returns the stop phrase when one was just said."""

    def __init__(self, language: str, *, vosk_model=None, other_words: list[str] = (),
                 pronounce: Callable[[str], str | None] | None = None):
        """`pronounce`: English words' phones from a dictionary already loaded (the transcriber's
        pocketsphinx), so that the spotter need not load the whole dictionary again."""
        lang = languages.get(language)
        self.phrases = lang.STOP_PHRASES
        if lang.STOP_SPOTTER == "grammar":
            self._engine = _VoskSpotter(self.phrases, vosk_model, other_words, stems=lang.STOP_STEMS)
        else:
            self._engine = _KeywordSpotter(self.phrases, pronounce)

    def reset(self) -> None:
        """Forget what was heard (a new answer starts)."""
        self._engine.reset()

    def process(self, frame: np.ndarray) -> str | None:
        return self._engine.process(frame)

    def sounds_like(self, text: str) -> bool:
        """Whether saying `text` could sound like a stop word, once the echo canceller is through with it."""
        return self._engine.sounds_like(text)


class _KeywordSpotter:
    def __init__(self, phrases: tuple[str, ...], pronounce: Callable[[str], str | None] | None):
        from pocketsphinx import Decoder, get_model_path

        model = get_model_path("en-us")
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            f.writelines(f"{phrase} /{KEYWORD_THRESHOLD:g}/\n" for phrase in phrases)
        words = None
        if pronounce is not None:  # a dictionary of the stop words alone
            with tempfile.NamedTemporaryFile("w", suffix=".dict", delete=False) as words:
                words.writelines(f"{w} {pronounce(w)}\n" for w in sorted({w for p in phrases for w in p.split()}))
        try:
            self._decoder = Decoder(hmm=os.path.join(model, "en-us"), kws=f.name, loglevel="FATAL",
                                    dict=words.name if words else os.path.join(model, "cmudict-en-us.dict"))
        finally:
            os.unlink(f.name)
            if words is not None:
                os.unlink(words.name)
        self._pronounce = pronounce or self._decoder.lookup_word
        self._skeletons = [self._consonants(phrase) for phrase in phrases]
        self._decoder.start_utt()

    def reset(self) -> None:
        self._decoder.end_utt()
        self._decoder.start_utt()

    def process(self, frame: np.ndarray) -> str | None:
        self._decoder.process_raw(frame.tobytes(), False, False)
        hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return None
        self.reset()
        return hypothesis.hypstr.strip()

    def sounds_like(self, text: str) -> bool:
        """The consonants of a stop phrase, in order, with at most one other among them ("setup",
        "steps", "this strip"), across the words of `text` as the dictionary pronounces them."""
        said = self._consonants(text)
        return any(_within(skeleton, said) for skeleton in self._skeletons)

    def _consonants(self, text: str) -> list[str]:
        phones = []
        for word in _WORD.findall(text.lower()):
            phones += (self._pronounce(word) or "").split()
        return [p for p in phones if p not in VOWELS]


def _within(skeleton: list[str], said: list[str]) -> bool:
    """`skeleton` is a subsequence of a stretch of `said` at most one longer than itself."""
    for start in range(len(said)):
        found, i = 0, start
        while i < len(said) and found < len(skeleton) and i - start <= len(skeleton):
            found += said[i] == skeleton[found]
            i += 1
        if found == len(skeleton) and said[start] == skeleton[0]:
            return True
    return False


class _VoskSpotter:
    def __init__(self, phrases: tuple[str, ...], model, other_words: list[str], *, stems: tuple[str, ...]):
        import vosk

        if model is None:
            raise ValueError("stop words in this language need its speech model")
        self._phrases, self._stems = phrases, stems
        words = sorted({*phrases, *(w for p in other_words for w in p.split() if w != "[unk]")})
        self._new = lambda: vosk.KaldiRecognizer(model, SAMPLE_RATE, json.dumps(words, ensure_ascii=False))
        self.reset()

    def reset(self) -> None:
        self._recognizer = self._new()
        self._noise = np.random.default_rng(0)

    def process(self, frame: np.ndarray) -> str | None:
        if self._recognizer.AcceptWaveform(dithered(frame.tobytes(), self._noise)):
            text = json.loads(self._recognizer.Result()).get("text", "")
        else:
            text = json.loads(self._recognizer.PartialResult()).get("partial", "")
        words = text.split()
        said = next((p for p in self._phrases if p in words), None)
        if said is not None:
            self.reset()
        return said

    def sounds_like(self, text: str) -> bool:
        return any(stem in text for stem in self._stems)
