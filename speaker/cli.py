"""The `speaker` command: run the daemon, or try one stage at a time."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys

from . import __version__, config
from .config import LANGUAGES, ConfigError, ModelMissing
from .commands import CommandError, CommandName, parse
from .events import Error

# Nothing slow is imported at the top (numpy comes with .audio): `speaker run` must catch its
# signals within the first moments, before a SIGHUP from `systemctl reload` could kill it.

log = logging.getLogger("speaker")

EXIT_USAGE = 2  # bad config, bad input file or a missing model


def _settings(args) -> config.Settings:
    overrides = {"language": args.language} if getattr(args, "language", None) else {}
    return config.load(args.config, overrides)


def _setup_logging(level: str = "info") -> None:
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(levelname)s %(name)s: %(message)s", force=True
    )


class _Signals:
    """SIGTERM, SIGINT and SIGHUP for `speaker run`, caught from its first moments: what comes
    before the daemon exists is kept and handed to it (a stop stops it, a reload reloads it).
    A handler only sets flags: it may interrupt the main thread mid-write, so it logs nothing
    (a second write into stderr raises, and the stop would be lost)."""

    def __init__(self):
        self.daemon = None
        self.stop_asked = self.reload_asked = ""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        signal.signal(signal.SIGHUP, self._reload)

    def _stop(self, signum, _frame):
        self.stop_asked = signal.Signals(signum).name
        if self.daemon is not None:
            self.daemon.stop(self.stop_asked)

    def _reload(self, signum, _frame):
        self.reload_asked = signal.Signals(signum).name
        if self.daemon is not None:
            self.daemon.reload(self.reload_asked)

    def attach(self, daemon) -> None:
        self.daemon = daemon
        if self.stop_asked:
            daemon.stop(self.stop_asked)
        if self.reload_asked:
            daemon.reload(self.reload_asked)


def _two_malloc_arenas() -> None:
    """glibc gives each thread that allocates at once a heap of its own (up to 8 a core), each keeping
    what it freed: two are enough for the speaker's threads and keep ~14 MB off its memory."""
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc
        pass


def cmd_run(args) -> int:
    signals = _Signals()
    _two_malloc_arenas()
    from .daemon import Daemon, RunOptions

    overrides = tuple((key, value) for key, value in (
        ("language", args.language), ("device_id", args.device_id), ("mqtt", {"url": args.mqtt} if args.mqtt else None),
    ) if value)
    options = RunOptions(config_path=args.config, overrides=overrides, input=args.input, realtime=args.realtime,
                         output=args.output, events_jsonl=args.events_jsonl)
    daemon = Daemon(options)
    _setup_logging(daemon.settings.log.level)
    signals.attach(daemon)
    code = daemon.run()
    if daemon.loading is not None and daemon.loading.is_alive():
        # Stopped while a speech model loaded: its library is neither waited for (vosk-ko takes seconds)
        # nor left running under the interpreter's shutdown.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code


def cmd_detect(args) -> int:
    from .audio import FRAME_SECONDS, frames_of, read_wav
    from .wake import WakeDetector

    settings = _settings(args)
    _setup_logging("warning")
    samples = read_wav(args.wav)
    wake = WakeDetector(settings.wake)
    for i, frame in enumerate(frames_of(samples)):
        detection = wake.process(frame)
        if detection is not None:
            t = round((i + 1) * FRAME_SECONDS, 2)
            print(json.dumps({"wake_word": detection.wake_word, "score": detection.score, "t": t}), flush=True)
    return 0


def cmd_transcribe(args) -> int:
    from .audio import read_wav
    from .dialogue import Dialogue
    from .stt import Transcriber

    settings = _settings(args)
    _setup_logging("warning")
    samples = read_wav(args.wav)
    dialogue = Dialogue.from_settings(settings)
    transcriber = Transcriber.for_dialogue(settings, dialogue)
    print(transcriber.transcribe(samples))
    return 0


def cmd_say(args) -> int:
    from .audio import DeviceSink, WavSink
    from .voice import Voice

    try:
        text = parse(CommandName.SAY, {"text": args.text}).args["text"]
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = _settings(args)
    _setup_logging(settings.log.level)
    voice = Voice(settings.voice, settings.language)
    errors = []
    sink = WavSink(args.output) if args.output else DeviceSink(
        settings.audio.output_device, settings.audio.output_command, lambda code, message: errors.append(message))
    try:
        for samples in voice.speak(text):
            sink.play(samples, voice.rate)
    finally:
        sink.close()
        voice.close()
    return 1 if errors else 0


def _errors(events) -> list[dict]:
    """The error events of a turn as {"code", "message"}; each is also a warning on stderr."""
    errors = [{"code": e.code, "message": e.message} for e in events if isinstance(e, Error)]
    for error in errors:
        print(f"warning: {error['message']}", file=sys.stderr)
    return errors


def _say(reply, out) -> list[dict]:
    """The answer, sentence by sentence as a language model writes it, through `out`; its errors."""
    if reply.stream is None:
        out(reply.text)
        return _errors(reply.events)
    try:
        for sentence in reply.stream:
            out(sentence)
    finally:
        reply.stream.close()
    return _errors([*reply.events, *reply.stream.events])


def cmd_ask(args) -> int:
    from .dialogue import Dialogue

    settings = _settings(args)
    _setup_logging("warning")
    reply = Dialogue.from_settings(settings).reply(args.text)
    if args.json:
        said: list[str] = []
        errors = _say(reply, said.append)
        print(json.dumps({"intent": reply.intent, "slots": reply.slots, "response": " ".join(said), "errors": errors},
                         ensure_ascii=False))
    else:
        _say(reply, lambda sentence: print(sentence, flush=True))
    return 0


def cmd_chat(args) -> int:
    import threading

    from .dialogue import Dialogue

    settings = _settings(args)
    _setup_logging("warning")
    dialogue = Dialogue.from_settings(settings)
    name = dialogue.persona.name
    turn = threading.Lock()  # one at a time: what you typed, or a timer going off
    done = threading.Event()

    def say(reply) -> None:
        """One answer on one line, each sentence printed as soon as it is ready."""
        said: list[str] = []

        def out(sentence: str) -> None:
            print(f"{name}: {sentence}" if not said else f" {sentence}", end="", flush=True)
            said.append(sentence)

        _say(reply, out)
        print(flush=True)

    def timers() -> None:
        while not done.wait(0.2):
            with turn:
                due = dialogue.due()
                if due is not None:
                    say(due)

    if sys.stdin.isatty():
        print(f"Talking with {name}. Type and press Enter; Ctrl-D leaves.", file=sys.stderr)
    threading.Thread(target=timers, name="timers", daemon=True).start()
    try:
        for line in sys.stdin:
            if line.strip():
                with turn:
                    say(dialogue.reply(line.strip()))
    except KeyboardInterrupt:
        pass
    finally:
        done.set()
    return 0


def cmd_check_config(args) -> int:
    from . import stt, wake
    from .dialogue.persona import find
    from .gpio import check_pins
    from .voice import Voice

    settings = config.load(args.path)
    problems, warnings = [], []
    try:
        find(settings.persona, settings.language)
    except ConfigError as e:
        problems += e.problems
    for name in settings.wake.models:
        try:
            wake.model_path(name, settings.wake.engine)
        except ModelMissing as e:
            problems.append(str(e))
    engines = []
    for language in LANGUAGES:  # `--language` can pick either at run time
        try:
            voice = Voice(settings.voice, language)
            engines.append(f"voice ({language}): {voice.name}")
            voice.close()
            if not voice.name.startswith("espeak"):  # espeak-ng's voice setting is checked all the same
                Voice(dataclasses.replace(settings.voice, engine="espeak"), language).close()
        except ModelMissing as e:
            problems.append(str(e))
    try:
        check_pins(settings.gpio)  # as `speaker run` opens them
    except ConfigError as e:
        problems += e.problems
    try:
        engines.insert(0, f"speech to text ({settings.language}): {stt.describe_engine(settings, settings.language)}")
    except ModelMissing as e:
        warnings.append(f"{e} (the speaker will wake and say so, but not understand speech)")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        raise ConfigError([f"{args.path}: {p}" for p in problems])
    for line in engines:
        print(line, file=sys.stderr)
    print(f"{args.path}: ok")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speaker", description="An offline home speaker: wake word, speech, answers.")
    parser.add_argument("--version", action="version", version=f"speaker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help):
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    def with_config(sub, language=True):
        sub.add_argument("--config", metavar="PATH", help="settings file (default: $SPEAKER_CONFIG, else /etc/speaker/speaker.toml if present)")
        if language:
            sub.add_argument("--language", choices=LANGUAGES, help="override the config's language")

    run = command("run", cmd_run, "Run the speaker: listen for the wake word, answer, repeat.")
    with_config(run)
    run.add_argument("--input", metavar="WAV|-", help="a WAV file instead of the microphone, or - for raw 16 kHz mono s16le on stdin")
    run.add_argument("--realtime", action="store_true", help="with --input WAV: play it at the pace of a live microphone")
    run.add_argument("--output", metavar="WAV", help="write every answer to this WAV file instead of the sound device")
    run.add_argument("--events-jsonl", metavar="PATH|-", help="append every event as a JSON line to PATH (- for stdout)")
    run.add_argument("--mqtt", metavar="URL", help="broker, mqtt://[user:password@]host:port (overrides mqtt.url)")
    run.add_argument("--device-id", metavar="ID", help="this speaker's id in events and topics (overrides device_id)")

    detect = command("detect", cmd_detect, "Print one JSON line per wake word found in a WAV file.")
    detect.add_argument("wav")
    with_config(detect, language=False)

    transcribe = command("transcribe", cmd_transcribe, "Print what is said in a WAV file.")
    transcribe.add_argument("wav")
    with_config(transcribe)

    say = command("say", cmd_say, "Say a text aloud (or into a WAV file).")
    say.add_argument("text")
    say.add_argument("--output", metavar="WAV", help="write the speech to this WAV file")
    with_config(say)

    ask = command("ask", cmd_ask, "Answer one sentence (typed, no audio) and print the answer.")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true", help='print {"intent", "slots", "response", "errors"} as JSON')
    with_config(ask)

    chat = command("chat", cmd_chat, "Talk with the speaker by typing: one line in, one answer out.")
    with_config(chat)

    check = command("check-config", cmd_check_config, "Validate a settings file: exit 0 if good, 2 with every problem if not.")
    check.add_argument("path")
    return parser


def _audio_error() -> type:
    from .audio import AudioError

    return AudioError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (ModelMissing, _audio_error()) as e:  # (evaluated only when something was raised)
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
