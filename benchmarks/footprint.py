"""Footprint: start → ready, memory by component and listening CPU, per language and wake engine.

    .venv/bin/python benchmarks/footprint.py [--runs 3] [--languages en ko] [--engines openwakeword microwakeword]

From outside, as systemd sees it: `speaker run` with the default settings (a quiet microphone
command, answers to `true`) is started `--runs` times; "ready" is its READY=1 on a notify socket
(best of the runs), "loaded" the first event (every model in), the audio loop's longest stand-still
between the two (worst of the runs: the gap between its watchdog pings, asked for on every turn),
RSS the process's VmRSS 3 s after that (median). From inside, in a fresh process per configuration:
RSS after each stage is loaded, in the order the speaker loads them (a shared library counts where
it is first loaded), and the CPU of the pipeline resting on 60 s of continuous speech with no wake
word in it and on 60 s of a quiet room, against openWakeWord's own plain loop on the same audio run
in turn with it (median ratio of `--runs`); the wake words each finds among ten renditions of
"hey jarvis" (piper's joe at five paces, five espeak-ng voices), each followed by a question, and
its false wakes in the two minutes of speech and quiet. Quote ratios: this machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SETTLE_SECONDS = 3.0  # after the last model is in, before RSS is read
SPEECH_SENTENCES = (
    "What time is it, and what day is it today?", "Set a timer for ten minutes.",
    "I had a long day at work, and the bus was late again.", "Turn off the kitchen light please.",
    "My sister is moving to Busan next month.", "Tell me something nice about the weather tomorrow.",
)


def rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def biggest_mappings(pid: int, count: int = 6) -> list[tuple[str, float]]:
    """The process's resident memory by what is mapped (a library, a model file, the heap), biggest first."""
    totals: Counter = Counter()
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):
            name = Path(head[5]).name if len(head) > 5 else "[anon]"
        elif head and head[0] == "Rss:":
            totals[name] += int(head[1]) / 1024
    return totals.most_common(count)


def write_settings(folder: Path, language: str, engine: str, audio: str = "") -> Path:
    """The defaults, but this language and wake engine; the user's models and voices, a state folder of its own."""
    from speaker.config import data_dir

    conf = folder / f"{language}-{engine}.toml"
    conf.write_text(f'language = "{language}"\n[wake]\nengine = "{engine}"\n[audio]\n{audio}\n'
                    f'[stt]\nmodels_dir = "{data_dir()}"\n[voice]\nvoices_dir = "{data_dir() / "voices"}"\n')
    return conf


def quiet_microphone(folder: Path) -> str:
    """A command that sends a quiet room at the pace of a live microphone, for as long as it is read."""
    script = folder / "microphone.py"
    script.write_text("""import sys, time
import numpy as np
rng = np.random.default_rng(0)
start, i = time.monotonic(), 0
while True:
    sys.stdout.buffer.write((rng.standard_normal(1280) * 20).astype("<i2").tobytes())
    sys.stdout.buffer.flush()
    i += 1
    time.sleep(max(0.0, start + i * 0.08 - time.monotonic()))
""")
    return f"{sys.executable} {script}"


def listen(systemd: socket.socket, until) -> None:
    """Read the notify socket until `until()`, as systemd reads every message."""
    while not until():
        with contextlib.suppress(TimeoutError):
            systemd.recv(4096)


def start_once(folder: Path, language: str, engine: str) -> dict:
    """One `speaker run`: seconds to READY=1 and to the first event, RSS once settled, seconds to stop."""
    conf = write_settings(folder, language, engine,
                          f'input_command = "{quiet_microphone(folder)}"\noutput_command = "true"')
    notify = folder / "notify"
    notify.unlink(missing_ok=True)
    events = folder / "events.jsonl"
    events.unlink(missing_ok=True)
    env = {key: os.environ[key] for key in ("PATH", "PYTHONPATH", "HOME") if key in os.environ}
    # a watchdog ping asked for every 50 ms: one on every turn of the audio loop (a frame comes every 80 ms)
    env.update(NOTIFY_SOCKET=str(notify), STATE_DIRECTORY=str(folder / "state"), LANG="C", WATCHDOG_USEC="100000")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd, (folder / "speaker.log").open("wb") as log:
        systemd.bind(str(notify))
        systemd.settimeout(60)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "speaker", "run", "--config", str(conf), "--events-jsonl",
                                 str(events)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True)
        try:
            while b"READY=1" not in systemd.recv(4096).split(b"\n"):
                pass
            ready = time.monotonic() - started
            turns = [ready]  # the audio loop's turns while the speech models load, by its watchdog pings
            systemd.settimeout(0.02)
            while not (events.is_file() and events.read_text()):
                if proc.poll() is not None:
                    raise RuntimeError(f"speaker ended: {(folder / 'speaker.log').read_text()[-2000:]}")
                with contextlib.suppress(TimeoutError):
                    if b"WATCHDOG=1" in systemd.recv(4096).split(b"\n"):
                        turns.append(time.monotonic() - started)
            loaded = time.monotonic() - started
            listen(systemd, lambda: time.monotonic() - started > loaded + SETTLE_SECONDS)
            result = {"ready": ready, "loaded": loaded, "rss": rss_mb(proc.pid), "mappings": biggest_mappings(proc.pid),
                      "stand_still": max(np.diff([*turns, loaded]))}
            asked = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            listen(systemd, lambda: proc.poll() is not None or time.monotonic() - asked > 30)
            result["stop"] = time.monotonic() - asked
            return result
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- inside one process ------------------------------------------------------------------------

def plain_loop(samples: np.ndarray) -> tuple[float, int]:
    """openWakeWord as its README shows it (the wake-word CPU benchmark's loop). CPU seconds, wakes."""
    from wake_cpu import plain_loop as loop

    return loop(samples)


def inside(conf: Path, scenes: Path, runs: int) -> dict:
    """Load the stages one by one (RSS after each), then rest the pipeline on each scene (CPU seconds)."""
    before = rss_mb()
    from speaker import assembly, config
    from speaker.audio import WavSink, frames_of
    from speaker.config import ModelMissing
    from speaker.dialogue import Dialogue
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.events import EventBus
    from speaker.pipeline import Pipeline
    from speaker.stages import Stages
    from speaker.stt import Transcriber
    from speaker.voice import Voice
    from speaker.wake import WakeDetector

    memory = [("python", before), ("speaker's code, numpy", rss_mb())]
    settings = config.load(str(conf))
    wake = WakeDetector(settings.wake)
    memory.append((f"wake word ({settings.wake.engine})", rss_mb()))
    endpointer = Endpointer(settings.listen)
    memory.append(("end of speech (silero)", rss_mb()))
    echo = EchoCanceller(settings.echo)
    memory.append((f"echo canceller ({settings.echo.canceller})", rss_mb()))
    dialogue = Dialogue.from_settings(settings, settings.language)
    memory.append(("dialogue", rss_mb()))
    try:
        transcriber, missing = Transcriber.for_dialogue(settings, dialogue), ""
    except ModelMissing as e:
        transcriber, missing = None, str(e)
    memory.append((f"speech to text ({transcriber.engine.name if transcriber else 'missing'})", rss_mb()))
    barge_in = assembly.barge_in_for(settings, wake, transcriber)
    memory.append(("stop words, own-voice wake twin", rss_mb()))
    voice = Voice(dialogue.persona.voice_settings(settings.voice), settings.language)
    memory.append((f"voice ({voice.name})", rss_mb()))
    assembly.release_freed_memory()  # as loading ends
    memory.append(("freed heap handed back", rss_mb()))
    stages = Stages(wake=wake, endpointer=endpointer, transcriber=transcriber, dialogue=dialogue, voice=voice,
                    missing_model=missing, echo=echo, barge_in=barge_in)
    with tempfile.TemporaryDirectory() as folder:
        pipeline = Pipeline(stages=stages, bus=EventBus("footprint"), sink=WavSink(Path(folder) / "answers.wav"),
                            settings=assembly.turn_settings(settings, stages))
        pipeline.start()
        cpu = {}
        for scene in ("speech", "quiet"):  # the plain loop runs between the pipeline's runs: the same load on the machine
            samples = np.load(scenes / f"{scene}.npy")
            ratios = []
            for _ in range(runs):
                start = time.process_time()
                for frame in frames_of(samples):
                    pipeline.process(frame)
                ratios.append((time.process_time() - start) / plain_loop(samples)[0])
            cpu[scene] = statistics.median(ratios)
        detector = WakeDetector(settings.wake)
        wakes = sum(detector.process(f) is not None for f in frames_of(np.load(scenes / "wakes.npy")))
        false_wakes = sum(detector.process(f) is not None for scene in ("speech", "quiet")
                          for f in frames_of(np.load(scenes / f"{scene}.npy")))
    return {"memory": memory, "cpu": cpu, "wakes": wakes, "false_wakes": false_wakes}


def make_scenes(folder: Path) -> None:
    from conftest import natural_speech, recording, room, speech

    sentences = [natural_speech(s, length_scale=scale) for scale in (0.9, 1.1) for s in SPEECH_SENTENCES]
    talk = []
    while sum(len(s) + 0.3 * 16000 for s in talk[::2]) < 60 * 16000:
        talk += [sentences[len(talk) // 2 % len(sentences)], 0.3]
    np.save(folder / "speech.npy", recording(*talk)[: 60 * 16000])
    np.save(folder / "quiet.npy", room(60.0))
    renditions = [natural_speech("hey jarvis", scale) for scale in (0.8, 0.9, 1.0, 1.1, 1.2)]
    renditions += [speech("hey jarvis", voice) for voice in ("en-us", "en-gb", "en-us+f3", "en-us+klatt", "en+m3")]
    ask = speech("what time is it, and what day is it today?")
    np.save(folder / "wakes.npy", recording(*[p for hey in renditions for p in (2.0, hey, 1.0, ask, 4.0)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--languages", nargs="+", default=["en", "ko"])
    parser.add_argument("--engines", nargs="+", default=["openwakeword", "microwakeword"])
    parser.add_argument("--inside", nargs=2, metavar=("CONF", "SCENES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(inside(Path(args.inside[0]), Path(args.inside[1]), args.runs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_scenes(folder)
        plain = {scene: plain_loop(np.load(folder / f"{scene}.npy")) for scene in ("speech", "quiet", "wakes")}
        rows, components = [], {}
        for language in args.languages:
            for engine in args.engines:
                starts = [start_once(folder, language, engine) for _ in range(args.runs)]
                conf = write_settings(folder, language, engine)
                measured = json.loads(subprocess.run(
                    [sys.executable, __file__, "--runs", str(args.runs), "--inside", str(conf), str(folder)],
                    check=True, capture_output=True, text=True, cwd=ROOT).stdout)
                components[(language, engine)] = measured["memory"]
                rows.append((language, engine, min(s["ready"] for s in starts),
                             statistics.median(s["loaded"] for s in starts), max(s["stand_still"] for s in starts),
                             statistics.median(s["rss"] for s in starts),
                             measured["cpu"]["speech"], measured["cpu"]["quiet"],
                             measured["wakes"], measured["false_wakes"], max(s["stop"] for s in starts)))
                print(f"{language} {engine}: biggest mappings once loaded: "
                      + ", ".join(f"{name} {mb:.0f} MB" for name, mb in starts[-1]["mappings"]), file=sys.stderr)
    print(f"plain openWakeWord loop: {plain['speech'][0]:.2f} CPU s per minute of speech, {plain['quiet'][0]:.2f} per "
          f"quiet minute; it rose over 0.5 {plain['wakes'][1]} times for the 10 hey jarvis (it counts each rise), "
          f"{plain['speech'][1] + plain['quiet'][1]} times in speech and quiet\n")
    print("| language | wake engine | start → ready (best) | all loaded (median) | audio loop's longest stand-still "
          "while loading (worst) | RSS once loaded | listening CPU, speech (× plain loop) | quiet (× plain loop) | "
          "wakes (of 10) | false wakes (2 min) | SIGTERM → exit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for language, engine, ready, loaded, still, rss, speech_x, quiet_x, wakes, false_wakes, stop in rows:
        print(f"| {language} | {engine} | {ready:.2f} s | {loaded:.2f} s | {still * 1000:.0f} ms | {rss:.0f} MB | "
              f"{speech_x:.2f}× | {quiet_x:.2f}× | {wakes} | {false_wakes} | {stop:.2f} s |")
    print("\nRSS by component (MB added as each is loaded, in the speaker's order):\n")
    keys = list(components)
    print("| component | " + " | ".join(f"{lang} {engine}" for lang, engine in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for i, (name, _) in enumerate(components[keys[0]]):
        cells = []
        for key in keys:
            label, value = components[key][i]
            added = f"{value - components[key][i - 1][1]:+.0f}" if i else f"{value:.0f}"
            engine = label.partition(" (")[2][:-1]
            cells.append(f"{added} ({engine})" if engine else added)
        print(f"| {name.partition(' (')[0]} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{components[k][-1][1]:.0f}**" for k in keys) + " |")


if __name__ == "__main__":
    main()
