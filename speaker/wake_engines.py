"""Wake-word engines: each turns an 80 ms frame into a score per wake word, and nothing else.

`openwakeword`: openWakeWord's models (a mel spectrogram, Google's speech embedding, one small
classifier per wake word) streamed here on LiteRT, exactly as openWakeWord's own `Model.predict`
computes them (the same scores) but without its package's imports (scikit-learn, scipy,
onnxruntime) and without copying its 10 s audio buffer into a Python list on every frame.
`microwakeword`: microWakeWord's streaming models (pymicro-wakeword, as linux-voice-assistant uses),
one quantised model per wake word on a 10 ms micro-frontend; much lighter, English-trained.

`twin()` gives an engine with its own audio history that shares the loaded models (the barge-in's
detector of the speaker's own voice): no second copy of a model.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .config import ModelMissing

FRAME = 1280  # samples in 80 ms
MEL_CONTEXT = 480  # openWakeWord's mel spectrogram of a frame looks 30 ms back
MEL_FRAMES = 76  # mel frames in one embedding window
MEL_STEP = 8  # mel frames per 80 ms
EMBEDDING = 96
OPENWAKEWORD_MODELS = ("alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy", "okay_nabu")
MICROWAKEWORD_MODELS = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")
ALIASES = {"ok_nabu": "okay_nabu"}


class _Model:
    """One LiteRT model with one input and one output."""

    def __init__(self, path: Path, input_shape: list[int] | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=1)
        if input_shape is not None:
            self.interpreter.resize_tensor_input(0, input_shape, strict=True)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self._running = threading.Lock()  # twins share the model, and may run on two threads (one loading)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self._running:
            self.interpreter.set_tensor(self.input["index"], x)
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output)


def _packaged(package: str, install: str) -> Path:
    try:
        module = __import__(package)
    except ImportError:
        raise ModelMissing(f"the wake-word model files are missing: install the {install} package (./scripts/setup)") from None
    return Path(module.__file__).parent / "models"


def _model_file(name: str, *, own: tuple[str, ...], package: str, install: str, known: tuple[str, ...], suffix: str) -> Path:
    """The model file of an official wake word name in `package`, or the path the user gave (ending in `own`)."""
    if name.endswith(own):
        path = Path(name).expanduser().with_suffix(suffix)
        if not path.is_file():
            raise ModelMissing(f"wake.models: no wake-word model file at {path}")
        return path
    name = ALIASES.get(name, name)
    if name not in known:
        raise ModelMissing(f"wake.models: unknown wake word {name!r} (choose {', '.join(known)}, or give a model's path)")
    path = _packaged(package, install) / f"{name}{suffix}"
    if not path.is_file():
        raise ModelMissing(f"wake.models: {path} is missing: reinstall the {install} package")
    return path


def openwakeword_model_path(name: str) -> Path:
    """The .tflite file for an openWakeWord name, or the path the user gave."""
    return _model_file(name, own=(".tflite",), package="pyopen_wakeword", install="pyopen-wakeword",
                       known=OPENWAKEWORD_MODELS, suffix=".tflite")


def microwakeword_config(name: str) -> Path:
    """The .json of a microWakeWord name, or of the user's own model (its .tflite beside it)."""
    return _model_file(name, own=(".json", ".tflite"), package="pymicro_wakeword", install="pymicro-wakeword",
                       known=MICROWAKEWORD_MODELS, suffix=".json")


class OpenWakeWord:
    """openWakeWord's feature pipeline and classifiers, streamed one 80 ms frame at a time."""

    def __init__(self, names: list[str], shared: OpenWakeWord | None = None):
        if shared is None:
            paths = [openwakeword_model_path(name) for name in names]
            features = _packaged("pyopen_wakeword", "pyopen-wakeword")
            self._melspec = _Model(features / "melspectrogram.tflite", [1, MEL_CONTEXT + FRAME])
            self._embedding = _Model(features / "embedding_model.tflite")
            self._classifiers = {p.stem: _Model(p) for p in paths}
        else:
            self._melspec, self._embedding, self._classifiers = shared._melspec, shared._embedding, shared._classifiers
        self.names = list(self._classifiers)
        self._windows = {name: int(m.input["shape"][1]) for name, m in self._classifiers.items()}
        self._audio = np.zeros(MEL_CONTEXT + FRAME, np.float32)  # the frame and the 30 ms before it
        self._mels = np.ones((1, MEL_FRAMES, 32, 1), np.float32)
        self._features = np.zeros((1, max(self._windows.values()), EMBEDDING), np.float32)

    def twin(self) -> OpenWakeWord:
        return OpenWakeWord(self.names, shared=self)

    def scores(self, frame: np.ndarray) -> dict[str, float]:
        audio = self._audio
        audio[:MEL_CONTEXT] = audio[FRAME:]
        audio[MEL_CONTEXT:] = frame
        spec = self._melspec(audio[None])[0, 0] / 10 + 2  # openWakeWord's transform, towards TensorFlow's
        self._mels[0, :-MEL_STEP] = self._mels[0, MEL_STEP:]
        self._mels[0, -MEL_STEP:, :, 0] = spec
        self._features[0, :-1] = self._features[0, 1:]
        self._features[0, -1] = self._embedding(self._mels).reshape(EMBEDDING)
        return {name: float(model(self._features[:, -self._windows[name]:])[0, 0])
                for name, model in self._classifiers.items()}


class MicroWakeWord:
    """microWakeWord: a 10 ms micro-frontend and one streaming model per wake word. Its probability
    is the mean of the model's last few outputs (its sliding window), as microWakeWord decides, and
    a score is that probability rescaled so that 0.5 is the model's own cutoff (hey_jarvis 0.97):
    `wake.threshold` then means the same for both engines."""

    def __init__(self, names: list[str], shared: MicroWakeWord | None = None):
        from pymicro_wakeword import MicroWakeWord as Model
        from pymicro_wakeword import MicroWakeWordFeatures

        self._configs = [microwakeword_config(n) for n in names] if shared is None else shared._configs
        self._models = {}
        for path in self._configs:
            model = Model.from_config(path)  # streaming state lives in the interpreter: a twin needs its own
            self._models[model.id] = model
        self.names = list(self._models)
        self.cutoffs = {m.id: m.probability_cutoff for m in self._models.values()}
        self._features = MicroWakeWordFeatures()

    def twin(self) -> MicroWakeWord:
        return MicroWakeWord(self.names, shared=self)

    def scores(self, frame: np.ndarray) -> dict[str, float]:
        best = dict.fromkeys(self.names, 0.0)  # the highest of the frame's probabilities (a model runs every 30 ms)
        for features in self._features.process_streaming(frame.tobytes()):
            for name, model in self._models.items():
                best[name] = max(best[name], model.process_streaming_prob(features) or 0.0)
        return {name: _rescaled(p, self.cutoffs[name]) for name, p in best.items()}


def _rescaled(probability: float, cutoff: float) -> float:
    """0 to `cutoff` onto 0 to 0.5, and `cutoff` to 1 onto 0.5 to 1."""
    if probability <= cutoff:
        return 0.5 * probability / cutoff
    return 0.5 + 0.5 * (probability - cutoff) / (1.0 - cutoff)


ENGINES = {"openwakeword": OpenWakeWord, "microwakeword": MicroWakeWord}
