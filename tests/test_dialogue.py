"""Dialogue: sentences understood in both languages, answers in the persona's words."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime

import pytest

from conftest import is_a_line
from speaker.commands import Command, CommandName
from speaker.config import Settings
from speaker.dialogue import Dialogue, part_of_day
from speaker.dialogue.persona import LINES, builtin
from speaker.dialogue.matcher import Unsure
from speaker.dialogue.registry import ACTS, ANSWERS, ASKED_FIRST
from speaker.testing.understanding import understands
from speaker.stt import known_words, model_path

LANGUAGES = ("en", "ko")
AFTERNOON = datetime(2026, 11, 27, 15, 5)

# (what was said, the intent understood, slots it must carry): several phrasings per intent,
# Home Assistant's own sentences among them.
UNDERSTOOD = {
    "en": [
        ("what time is it", "HassGetCurrentTime", {}),
        ("what time is it now", "HassGetCurrentTime", {}),
        ("tell me the time", "HassGetCurrentTime", {}),
        ("do you know what time it is", "HassGetCurrentTime", {}),
        ("what's the current time", "HassGetCurrentTime", {}),
        ("what is the date today", "HassGetCurrentDate", {}),
        ("what's today's date", "HassGetCurrentDate", {}),
        ("what day is it", "HassGetCurrentDate", {}),
        ("what day of the week is it", "HassGetCurrentDate", {}),
        ("what's the weather like", "HassGetWeather", {}),
        ("how is the weather today", "HassGetWeather", {}),
        ("what is the weather", "HassGetWeather", {}),
        ("never mind", "HassNevermind", {}),
        ("nevermind", "HassNevermind", {}),
        ("stop", "HassNevermind", {}),
        ("forget it", "HassNevermind", {}),
        ("set a timer for 5 minutes", "HassStartTimer", {"minutes": 5}),
        ("set a timer for five minutes", "HassStartTimer", {"minutes": 5}),
        ("start a ten minute timer", "HassStartTimer", {"minutes": 10}),
        ("timer for 1 hour and 30 minutes", "HassStartTimer", {"hours": 1, "minutes": 30}),
        ("set a pasta timer for 12 minutes", "HassStartTimer", {"name": "pasta", "minutes": 12}),
        ("could you set a timer for 30 seconds please", "HassStartTimer", {"seconds": 30}),
        ("set a timer for half an hour", "HassStartTimer", {"minutes": 30}),
        ("cancel the timer", "HassCancelTimer", {}),
        ("stop the pasta timer", "HassCancelTimer", {"name": "pasta"}),
        ("cancel my 5 minute timer", "HassCancelTimer", {"start_minutes": 5}),
        ("cancel all timers", "HassCancelAllTimers", {}),
        ("cancel all my timers", "HassCancelAllTimers", {}),
        ("stop all of the timers", "HassCancelAllTimers", {}),
        ("how much time is left", "HassTimerStatus", {}),
        ("how long is left on the timer", "HassTimerStatus", {}),
        ("how much time is left on the pasta timer", "HassTimerStatus", {"name": "pasta"}),
        ("timer status", "HassTimerStatus", {}),
        ("wake me up at 7", "SpeakerSetAlarm", {"hour": 7}),
        ("set an alarm for 6:30 am", "SpeakerSetAlarm", {"hour": 6, "minute": 30, "day_part": "am"}),
        ("wake me up at seven thirty in the morning", "SpeakerSetAlarm", {"hour": 7, "minute": 30, "day_part": "am"}),
        ("set an alarm for 9 pm", "SpeakerSetAlarm", {"hour": 9, "day_part": "pm"}),
        ("cancel the alarm", "SpeakerCancelAlarm", {}),
        ("turn off my alarms", "SpeakerCancelAlarm", {}),
        ("delete the alarm", "SpeakerCancelAlarm", {}),
        ("what alarms do I have", "SpeakerAlarmStatus", {}),
        ("when is my alarm", "SpeakerAlarmStatus", {}),
        ("is there an alarm set", "SpeakerAlarmStatus", {}),
        ("set the volume to 40 percent", "HassSetVolume", {"volume_level": 40}),
        ("set volume to 70%", "HassSetVolume", {"volume_level": 70}),
        ("volume fifty", "HassSetVolume", {"volume_level": 50}),
        ("turn it up", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("louder", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("increase the volume", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("turn the volume down", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("a bit quieter please", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("mute", "SpeakerMute", {}),
        ("stop listening", "SpeakerMute", {}),
        ("turn off the microphone", "SpeakerMute", {}),
        ("yes", "SpeakerYes", {}),
        ("yeah please", "SpeakerYes", {}),
        ("go ahead", "SpeakerYes", {}),
        ("no", "SpeakerNo", {}),
        ("no thanks", "SpeakerNo", {}),
        ("please don't", "SpeakerNo", {}),
        ("say that again", "SpeakerRepeat", {}),
        ("what did you say", "SpeakerRepeat", {}),
        ("could you repeat that", "SpeakerRepeat", {}),
        ("hello", "SpeakerGreet", {}),
        ("hi there", "SpeakerGreet", {}),
        ("good evening", "SpeakerGreet", {}),
        ("good morning", "SpeakerGoodMorning", {}),
        ("morning", "SpeakerGoodMorning", {}),
        ("good morning to you", "SpeakerGoodMorning", {}),
        ("good night", "SpeakerGoodNight", {}),
        ("I'm going to bed", "SpeakerGoodNight", {}),
        ("sleep well", "SpeakerGoodNight", {}),
        ("how are you", "SpeakerHowAreYou", {}),
        ("how are you doing today", "SpeakerHowAreYou", {}),
        ("how's it going", "SpeakerHowAreYou", {}),
        ("thank you", "SpeakerThank", {}),
        ("thanks a lot", "SpeakerThank", {}),
        ("thank you so much", "SpeakerThank", {}),
        ("what's your name", "SpeakerName", {}),
        ("what is your name", "SpeakerName", {}),
        ("what's your name again", "SpeakerName", {}),
        ("who are you", "SpeakerIdentity", {}),
        ("are you real", "SpeakerIdentity", {}),
        ("are you a robot or a person", "SpeakerIdentity", {}),
        ("do you have feelings", "SpeakerIdentity", {}),
        ("I love you", "SpeakerAffection", {}),
        ("do you love me", "SpeakerAffection", {}),
        ("i really like you", "SpeakerAffection", {}),
        ("you're the best", "SpeakerAffection", {}),
        ("what can you do", "SpeakerCapabilities", {}),
        ("what else can you do", "SpeakerCapabilities", {}),
        ("how can you help me", "SpeakerCapabilities", {}),
        ("tell me a joke", "SpeakerSmallTalk", {"topic": "joke"}),
        ("do you know any good jokes", "SpeakerSmallTalk", {"topic": "joke"}),
        ("say something nice to me", "SpeakerSmallTalk", {"topic": "nice"}),
        ("cheer me up", "SpeakerSmallTalk", {"topic": "nice"}),
        ("tell me a story", "SpeakerSmallTalk", {"topic": "story"}),
        ("tell me something interesting", "SpeakerSmallTalk", {"topic": "story"}),
        ("can we talk", "SpeakerSmallTalk", {"topic": "talk"}),
        ("can you talk to me", "SpeakerSmallTalk", {"topic": "talk"}),
        ("I need someone to talk to", "SpeakerSmallTalk", {"topic": "talk"}),
        ("thanks for listening", "SpeakerSmallTalk", {"topic": "listening"}),
        ("thank you for keeping me company", "SpeakerSmallTalk", {"topic": "listening"}),
        ("what are you doing", "SpeakerSmallTalk", {"topic": "doing"}),
        ("how was your day", "SpeakerSmallTalk", {"topic": "day"}),
        ("I feel lonely", "SpeakerFeeling", {"feeling": "lonely"}),
        ("I'm so lonely", "SpeakerFeeling", {"feeling": "lonely"}),
        ("I feel all alone", "SpeakerFeeling", {"feeling": "lonely"}),
        ("I'm really sad", "SpeakerFeeling", {"feeling": "sad"}),
        ("I feel a bit down today", "SpeakerFeeling", {"feeling": "sad"}),
        ("I am so tired", "SpeakerFeeling", {"feeling": "tired"}),
        ("I'm exhausted", "SpeakerFeeling", {"feeling": "tired"}),
        ("I had a long day at work", "SpeakerFeeling", {"feeling": "long_day"}),
        ("i had a rough day", "SpeakerFeeling", {"feeling": "long_day"}),
        ("today was exhausting", "SpeakerFeeling", {"feeling": "long_day"}),
        ("I'm stressed out", "SpeakerFeeling", {"feeling": "stressed"}),
        ("I'm really anxious about tomorrow", "SpeakerFeeling", {"feeling": "anxious"}),
        ("I'm bored", "SpeakerFeeling", {"feeling": "bored"}),
        ("there's nothing to do", "SpeakerFeeling", {"feeling": "bored"}),
        ("I miss my mom", "SpeakerFeeling", {"feeling": "missing", "person": "my mom"}),
        ("I'm so excited", "SpeakerFeeling", {"feeling": "excited"}),
        ("I'm proud of myself", "SpeakerFeeling", {"feeling": "proud"}),
        ("I can't sleep", "SpeakerFeeling", {"feeling": "sleepless"}),
        ("I couldn't get to sleep tonight", "SpeakerFeeling", {"feeling": "sleepless"}),
        ("I'm happy", "SpeakerFeeling", {"feeling": "happy"}),
        ("I feel great", "SpeakerFeeling", {"feeling": "happy"}),
        ("my name is Alex", "SpeakerRememberName", {"user_name": "Alex"}),
        ("call me Sam", "SpeakerRememberName", {"user_name": "Sam"}),
        ("you can call me Jo", "SpeakerRememberName", {"user_name": "Jo"}),
        ("my sister's birthday is on Friday", "SpeakerRemember", {"subject": "sister's birthday", "value": "on Friday"}),
        ("my keys are in the kitchen drawer", "SpeakerRemember", {"subject": "keys", "value": "in the kitchen drawer"}),
        ("remember that my car is the blue one", "SpeakerRemember", {}),
        ("Amy's birthday is on Saturday", "SpeakerRemember", {"owner": "Amy", "subject": "birthday"}),
        ("when is my sister's birthday", "SpeakerRecall", {"subject": "sister's birthday"}),
        ("where are my keys", "SpeakerRecall", {"subject": "keys"}),
        ("what's my name", "SpeakerRecall", {}),
        ("do you remember my car", "SpeakerRecall", {"subject": "car"}),
        ("when is Amy's birthday", "SpeakerRecall", {"owner": "Amy", "subject": "birthday"}),
        ("what do you know about me", "SpeakerListFacts", {}),
        ("what have I told you so far", "SpeakerListFacts", {}),
        ("tell me what you remember", "SpeakerListFacts", {}),
        ("forget that", "SpeakerForget", {}),
        ("forget what I told you", "SpeakerForget", {}),
        ("forget my keys", "SpeakerForget", {"subject": "keys"}),
        ("forget Amy's birthday", "SpeakerForget", {"owner": "Amy", "subject": "birthday"}),
        ("forget everything", "SpeakerForgetAll", {}),
        ("forget everything you know about me", "SpeakerForgetAll", {}),
        ("erase your memory", "SpeakerForgetAll", {}),
        # no [[mqtt.devices]] here: every device is one it does not know yet, and says so
        ("turn on the kitchen lights", "HassTurnOn", {"unknown_device": "kitchen lights"}),
        ("switch on the fan", "HassTurnOn", {"unknown_device": "fan"}),
        ("turn the heater on", "HassTurnOn", {"unknown_device": "heater"}),
        ("turn off the kitchen lights", "HassTurnOff", {"unknown_device": "kitchen lights"}),
        ("switch off the fan", "HassTurnOff", {"unknown_device": "fan"}),
        ("turn the heater off", "HassTurnOff", {"unknown_device": "heater"}),
    ],
    "ko": [
        ("지금 몇 시야", "HassGetCurrentTime", {}),
        ("몇 시야", "HassGetCurrentTime", {}),
        ("지금 시간 알려줘", "HassGetCurrentTime", {}),
        ("몇 시지", "HassGetCurrentTime", {}),
        ("시간 말해줘", "HassGetCurrentTime", {}),
        ("오늘 며칠 이에요", "HassGetCurrentDate", {}),
        ("오늘 무슨 요일 이에요", "HassGetCurrentDate", {}),
        ("오늘 날짜 알려줘", "HassGetCurrentDate", {}),
        ("오늘 며칠이야", "HassGetCurrentDate", {}),
        ("오늘 날씨 어때", "HassGetWeather", {}),
        ("날씨 어때", "HassGetWeather", {}),
        ("바깥 날씨 알려줘", "HassGetWeather", {}),
        ("멈춰", "HassNevermind", {}),
        ("됐어", "HassNevermind", {}),
        ("그만", "HassNevermind", {}),
        ("아무것도 아니야", "HassNevermind", {}),
        ("오분 타이머", "HassStartTimer", {"minutes": 5}),
        ("삼분 타이머", "HassStartTimer", {"minutes": 3}),
        ("5분 타이머 맞춰줘", "HassStartTimer", {"minutes": 5}),
        ("타이머 10분으로 맞춰", "HassStartTimer", {"minutes": 10}),
        ("30초 타이머", "HassStartTimer", {"seconds": 30}),
        ("라면 타이머 삼분", "HassStartTimer", {"name": "라면", "minutes": 3}),
        ("라면 타이머 3분 맞춰", "HassStartTimer", {"name": "라면", "minutes": 3}),
        ("빨래 타이머 1시간", "HassStartTimer", {"name": "빨래", "hours": 1}),
        ("타이머 취소", "HassCancelTimer", {}),
        ("타이머 취소해", "HassCancelTimer", {}),
        ("라면 타이머 취소", "HassCancelTimer", {"name": "라면"}),
        ("5분 타이머 취소", "HassCancelTimer", {"start_minutes": 5}),
        ("모든 타이머 취소", "HassCancelAllTimers", {}),
        ("타이머 전부 취소해", "HassCancelAllTimers", {}),
        ("전체 타이머 삭제", "HassCancelAllTimers", {}),
        ("타이머 남은 시간", "HassTimerStatus", {}),
        ("타이머 얼마나 남았어", "HassTimerStatus", {}),
        ("얼마 남았어", "HassTimerStatus", {}),
        ("라면 타이머 얼마나 남았어", "HassTimerStatus", {"name": "라면"}),
        ("7시에 깨워줘", "SpeakerSetAlarm", {"hour": 7}),
        ("내일 아침 7시 알람 맞춰", "SpeakerSetAlarm", {"hour": 7, "day_part": "am"}),
        ("아침 일곱시 알람", "SpeakerSetAlarm", {"hour": 7, "day_part": "am"}),
        ("알람 6시 반으로 설정", "SpeakerSetAlarm", {"hour": 6, "minute": 30}),
        ("오후 3시 15분 알람", "SpeakerSetAlarm", {"hour": 3, "minute": 15, "day_part": "pm"}),
        ("알람 취소", "SpeakerCancelAlarm", {}),
        ("알람 꺼", "SpeakerCancelAlarm", {}),
        ("알람 취소해", "SpeakerCancelAlarm", {}),
        ("알람 확인", "SpeakerAlarmStatus", {}),
        ("알람 몇 시야", "SpeakerAlarmStatus", {}),
        ("알람 있어", "SpeakerAlarmStatus", {}),
        ("볼륨 50%로", "HassSetVolume", {"volume_level": 50}),
        ("볼륨 오십", "HassSetVolume", {"volume_level": 50}),
        ("소리 30으로 해줘", "HassSetVolume", {"volume_level": 30}),
        ("볼륨 올려", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("소리 키워 줘", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("좀 크게", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("볼륨 내려", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("소리 줄여 줘", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("음소거", "SpeakerMute", {}),
        ("마이크 꺼", "SpeakerMute", {}),
        ("듣지 마", "SpeakerMute", {}),
        ("그래", "SpeakerYes", {}),
        ("응", "SpeakerYes", {}),
        ("네 꺼 주세요", "SpeakerYes", {}),
        ("아니", "SpeakerNo", {}),
        ("아니요", "SpeakerNo", {}),
        ("끄지 마", "SpeakerNo", {}),
        ("뭐라고", "SpeakerRepeat", {}),
        ("다시 말해줘", "SpeakerRepeat", {}),
        ("다시 한번 말해 줘", "SpeakerRepeat", {}),
        ("안녕", "SpeakerGreet", {}),
        ("안녕하세요", "SpeakerGreet", {}),
        ("반가워", "SpeakerGreet", {}),
        ("좋은 아침", "SpeakerGoodMorning", {}),
        ("잘 잤어", "SpeakerGoodMorning", {}),
        ("굿모닝", "SpeakerGoodMorning", {}),
        ("잘자", "SpeakerGoodNight", {}),
        ("안녕히 주무세요", "SpeakerGoodNight", {}),
        ("나 이제 잘게", "SpeakerGoodNight", {}),
        ("잘지내", "SpeakerHowAreYou", {}),
        ("어떻게 지내", "SpeakerHowAreYou", {}),
        ("기분 어때", "SpeakerHowAreYou", {}),
        ("고마워", "SpeakerThank", {}),
        ("고맙습니다", "SpeakerThank", {}),
        ("감사합니다", "SpeakerThank", {}),
        ("이름이 뭐야", "SpeakerName", {}),
        ("너 이름이 뭐야", "SpeakerName", {}),
        ("네 이름이 뭐야", "SpeakerName", {}),
        ("넌 누구야", "SpeakerIdentity", {}),
        ("너 진짜 사람이야", "SpeakerIdentity", {}),
        ("너 로봇이야", "SpeakerIdentity", {}),
        ("사랑해", "SpeakerAffection", {}),
        ("나 사랑해", "SpeakerAffection", {}),
        ("너 정말 좋아해", "SpeakerAffection", {}),
        ("뭐 할 수 있어", "SpeakerCapabilities", {}),
        ("할 수 있는 게 뭐야", "SpeakerCapabilities", {}),
        ("기능 알려 줘", "SpeakerCapabilities", {}),
        ("농담 하나 해 줘", "SpeakerSmallTalk", {"topic": "joke"}),
        ("나 좀 웃겨 줘", "SpeakerSmallTalk", {"topic": "joke"}),
        ("좋은 말 좀 해 줘", "SpeakerSmallTalk", {"topic": "nice"}),
        ("재밌는 얘기 해 줘", "SpeakerSmallTalk", {"topic": "joke"}),
        ("이야기 하나 들려줘", "SpeakerSmallTalk", {"topic": "story"}),
        ("나랑 얘기하자", "SpeakerSmallTalk", {"topic": "talk"}),
        ("내 얘기 좀 들어 줘", "SpeakerSmallTalk", {"topic": "talk"}),
        ("들어 줘서 고마워", "SpeakerSmallTalk", {"topic": "listening"}),
        ("지금 뭐 해", "SpeakerSmallTalk", {"topic": "doing"}),
        ("오늘 하루 어땠어", "SpeakerSmallTalk", {"topic": "day"}),
        ("적적해", "SpeakerFeeling", {"feeling": "lonely"}),
        ("오늘 좀 외로워", "SpeakerFeeling", {"feeling": "lonely"}),
        ("나 너무 외로워", "SpeakerFeeling", {"feeling": "lonely"}),
        ("마음이 아파", "SpeakerFeeling", {"feeling": "sad"}),
        ("오늘 우울해", "SpeakerFeeling", {"feeling": "sad"}),
        ("너무 피곤해", "SpeakerFeeling", {"feeling": "tired"}),
        ("기운이 없어", "SpeakerFeeling", {"feeling": "tired"}),
        ("나 오늘 너무 힘들었어", "SpeakerFeeling", {"feeling": "long_day"}),
        ("오늘 하루가 길었어", "SpeakerFeeling", {"feeling": "long_day"}),
        ("스트레스 받아", "SpeakerFeeling", {"feeling": "stressed"}),
        ("요즘 너무 불안해", "SpeakerFeeling", {"feeling": "anxious"}),
        ("심심해", "SpeakerFeeling", {"feeling": "bored"}),
        ("보고싶어", "SpeakerFeeling", {"feeling": "missing"}),
        ("엄마가 너무 보고 싶어", "SpeakerFeeling", {"feeling": "missing"}),
        ("설레", "SpeakerFeeling", {"feeling": "excited"}),
        ("뿌듯해", "SpeakerFeeling", {"feeling": "proud"}),
        ("잠이안와", "SpeakerFeeling", {"feeling": "sleepless"}),
        ("잠이 안 와", "SpeakerFeeling", {"feeling": "sleepless"}),
        ("기분좋아", "SpeakerFeeling", {"feeling": "happy"}),
        ("나 정말 행복해", "SpeakerFeeling", {"feeling": "happy"}),
        ("내 이름은 민수야", "SpeakerRememberName", {"user_name": "민수"}),
        ("제 이름은 김지영입니다", "SpeakerRememberName", {"user_name": "김지영"}),
        ("지영이라고 불러줘", "SpeakerRememberName", {"user_name": "지영"}),
        ("내 동생 생일은 금요일이야", "SpeakerRemember", {"subject": "동생 생일", "value": "금요일"}),
        ("내 열쇠는 서랍에 있어", "SpeakerRemember", {"subject": "열쇠", "value": "서랍에 있어"}),
        ("우리 강아지 이름은 초코야", "SpeakerRemember", {"subject": "강아지 이름", "value": "초코"}),
        ("내 동생 생일은 언제야", "SpeakerRecall", {"subject": "동생 생일"}),
        ("동생 생일 언제야", "SpeakerRecall", {"subject": "동생 생일"}),
        ("내 열쇠 어디야", "SpeakerRecall", {"subject": "열쇠"}),
        ("내 이름 알아", "SpeakerRecall", {}),
        ("나에 대해 뭐 알아", "SpeakerListFacts", {}),
        ("뭐 기억하고 있어", "SpeakerListFacts", {}),
        ("내가 말한 거 다 말해 줘", "SpeakerListFacts", {}),
        ("잊어버려", "SpeakerForget", {}),
        ("그거 잊어", "SpeakerForget", {}),
        ("내 열쇠 잊어버려", "SpeakerForget", {"subject": "열쇠"}),
        ("다 잊어버려", "SpeakerForgetAll", {}),
        ("기억 전부 지워 줘", "SpeakerForgetAll", {}),
        ("전부 다 잊어 줘", "SpeakerForgetAll", {}),
        ("불 켜줘", "HassTurnOn", {"unknown_device": "불"}),
        ("선풍기 켜줘", "HassTurnOn", {"unknown_device": "선풍기"}),
        ("부엌 불 켜줘", "HassTurnOn", {"unknown_device": "부엌 불"}),
        ("불 꺼", "HassTurnOff", {"unknown_device": "불"}),
        ("선풍기 꺼줘", "HassTurnOff", {"unknown_device": "선풍기"}),
        ("부엌 불 꺼", "HassTurnOff", {"unknown_device": "부엌 불"}),
    ],
}
NOT_UNDERSTOOD = {
    "en": ["play some music", "open the garage", "what time", "the", "hello hello hello hello"],
    "ko": ["노래 틀어줘", "창문 열어줘", "시간", "오늘"],
}
# Sentences the speech recogniser's grammar must hold (Korean: measured on espeak-ng speech).
SPOKEN = {
    "en": ["what time is it", "set a timer for five minutes", "cancel the timer", "how much time is left",
           "wake me up at seven", "set the volume to fifty percent", "turn it up", "mute", "say that again",
           "good night", "how are you", "I feel lonely", "I can't sleep", "forget that", "I had a long day",
           "I'm bored", "I love you", "who are you", "are you real", "what can you do", "tell me a joke", "can we talk",
           "thanks for listening", "forget everything"],
    "ko": ["지금 몇 시야", "오늘 날씨 어때", "이름이 뭐야", "고마워", "오분 타이머", "라면 타이머 삼분", "타이머 취소",
           "타이머 남은 시간", "알람 취소", "볼륨 내려", "음소거", "잘자", "어떻게 지내", "적적해",
           "보고싶어", "마음이 아파", "잠이안와", "기분좋아", "잊어버려", "사랑해"],
}
KO_SHORT_WORDS_ALLOWED = {"몇"}  # one-syllable grammar words ("몇 시야" was measured fine)


def at(*when) -> Dialogue:
    language, *rest = when
    return Dialogue(language, clock=lambda: datetime(*rest), seed=0)


# --- understanding -------------------------------------------------------------------------------

@pytest.mark.parametrize("language, text, intent, slots", [
    (language, text, intent, slots) for language, cases in UNDERSTOOD.items() for text, intent, slots in cases
])
def test_each_phrasing_is_understood(language, text, intent, slots):
    d = Dialogue(language, clock=lambda: AFTERNOON, seed=0)
    if intent in ANSWERS:
        d.reply("mute" if language == "en" else "음소거")  # a question for it to answer
    reply = d.reply(text)
    assert reply.intent == intent
    assert reply.slots.items() >= slots.items(), reply.slots
    assert reply.text and "{" not in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_intent_is_tested_with_several_phrasings(language):
    tested = [intent for _, intent, _ in UNDERSTOOD[language]]
    for intent in Dialogue(language).intents.intents:
        assert tested.count(intent) >= 3, intent


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_sentences_are_not_understood(language):
    d = Dialogue(language, seed=0)
    lines = builtin(language).lines["not_understood"]
    for text in NOT_UNDERSTOOD[language] + ["", "   "]:
        reply = d.reply(text)
        assert reply.intent is None and reply.slots == {}
        assert reply.text in lines
        if text.strip():
            assert not understands(d, text)


def test_english_is_understood_whatever_the_capitals_and_punctuation():
    d = Dialogue("en", seed=0)
    assert d.reply("What time is it?").intent == "HassGetCurrentTime"
    assert d.reply("Thank you!").intent == "SpeakerThank"
    assert d.reply("Please, set a timer for 3 minutes.").slots == {"minutes": 3}


# --- time and date -------------------------------------------------------------------------------

@pytest.mark.parametrize("when, words", [
    (("en", 2026, 11, 27, 15, 5), "3:05 PM"),
    (("en", 2026, 11, 27, 9, 30), "9:30 AM"),
    (("en", 2026, 11, 27, 0, 5), "12:05 AM"),
    (("en", 2026, 11, 27, 12, 45), "12:45 PM"),
    (("en", 2026, 11, 27, 15, 0), "3 o'clock"),
    (("en", 2026, 11, 27, 9, 0), "9 o'clock in the morning"),
    # Korean hours may be written as digits or as Koreans say them (세 시, 아홉 시)
    (("ko", 2026, 11, 27, 15, 5), "오후 (3|세) ?시 5분"),
    (("ko", 2026, 11, 27, 9, 30), "오전 (9|아홉) ?시 30분"),
    (("ko", 2026, 11, 27, 15, 0), "오후 (3|세) ?시"),
])
def test_the_time_is_told(when, words):
    d = at(*when)
    text = d.reply("what time is it" if when[0] == "en" else "지금 몇 시야").text
    assert re.search(words, text), text
    if when[-1] == 0:
        assert "0분" not in text and ":00" not in text
    if when[0] == "en" and when[-2] >= 12:
        assert "morning" not in text


@pytest.mark.parametrize("when, words", [
    (("en", 2026, 11, 27, 15, 5), "Friday, November 27"),
    (("en", 2027, 1, 1, 8, 0), "Friday, January 1"),
    (("en", 2028, 2, 29, 8, 0), "Tuesday, February 29"),
    (("ko", 2026, 11, 27, 15, 5), "11월 27일 금요일"),
    (("ko", 2026, 3, 1, 8, 0), "3월 1일 일요일"),
])
def test_the_date_is_told(when, words):
    d = at(*when)
    for text, intent, _ in UNDERSTOOD[when[0]]:
        if intent == "HassGetCurrentDate":
            assert words in d.reply(text).text


def test_the_clock_is_read_at_each_question():
    times = iter([datetime(2026, 11, 27, 15, 5), datetime(2026, 11, 27, 15, 6)])
    now = [None]

    def clock():
        return now[0]

    d = Dialogue("en", clock=clock, seed=0)
    now[0] = next(times)
    assert "3:05 PM" in d.reply("what time is it").text
    now[0] = next(times)
    assert "3:06 PM" in d.reply("what time is it").text


def test_the_persona_says_its_name():
    assert "Samantha" in Dialogue("en", seed=0).reply("what's your name").text
    assert "사만다" in Dialogue("ko", seed=0).reply("이름이 뭐야").text


def test_korean_oclock_answers_are_grammatical():
    d = at("ko", 2026, 11, 27, 15, 0)
    for _ in range(12):
        text = d.reply("지금 몇 시야").text
        assert "시이" not in text, text


def test_the_korean_hour_is_spoken_the_way_koreans_say_it():
    d = at("ko", 2026, 11, 27, 15, 5)
    text = d.reply("지금 몇 시야").text
    phonemes = subprocess.run(["espeak-ng", "-v", "ko", "-q", "-x", text], check=True, capture_output=True,
                              text=True).stdout
    assert "s'am" not in phonemes and re.search(r"s'e ?s'?i", phonemes), phonemes  # 세 시, not 삼 시


# --- the persona's lines -------------------------------------------------------------------------

LINE_ONLY = {"SpeakerGreet", "SpeakerGoodNight", "SpeakerHowAreYou", "SpeakerThank", "SpeakerName",
             "HassGetWeather", "HassNevermind", "SpeakerAffection", "SpeakerIdentity", "SpeakerCapabilities"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reply_never_repeats_the_line_just_said_and_every_line_gets_its_turn(language):
    d = Dialogue(language, clock=lambda: AFTERNOON, seed=3)
    lines = builtin(language)
    for intent in LINE_ONLY:
        texts = [text for text, i, _ in UNDERSTOOD[language] if i == intent]
        said = [d.reply(texts[n % len(texts)]).text for n in range(60)]
        assert all(a != b for a, b in zip(said, said[1:])), intent
        usable = [line for line in lines.choices(intent, "afternoon") if "{user}" not in line]
        assert len(set(said)) == len(usable), intent
    for key in ("not_understood", "no_speech"):
        said = [d.line(key) for _ in range(30)]
        assert all(a != b for a, b in zip(said, said[1:])), key


@pytest.mark.parametrize("language, name, thanks", [("en", "alex", "thank you"), ("ko", "민수", "고마워")])
def test_once_it_knows_your_name_it_uses_it_now_and_then(language, name, thanks):
    d = Dialogue(language, clock=lambda: AFTERNOON, seed=5)
    before = [d.reply(thanks).text for _ in range(20)]
    assert not any(name in text.lower() for text in before)
    d.reply(f"my name is {name}" if language == "en" else f"내 이름은 {name}야")
    after = [d.reply(thanks).text for _ in range(20)]
    assert 1 <= sum(name in text.lower() for text in after) < 20
    if language == "en":
        assert any("Alex" in text for text in after)  # said as a name


@pytest.mark.parametrize("language, morning, night", [("en", "good morning", "good night"), ("ko", "좋은 아침", "잘자")])
def test_answers_fit_the_time_of_day(language, morning, night):
    lines = builtin(language).lines

    def said(text, hour):
        d = Dialogue(language, clock=lambda: datetime(2026, 11, 27, hour, 10), seed=0)
        return d.reply(text).text

    assert is_a_line(said(morning, 8), {"m": lines["SpeakerGoodMorning"]["morning"]})
    assert is_a_line(said(morning, 20), {"a": lines["SpeakerGoodMorning"]["anytime"]})
    assert is_a_line(said(night, 23), {"n": lines["SpeakerGoodNight"]["night"]})
    assert is_a_line(said(night, 13), {"a": lines["SpeakerGoodNight"]["anytime"]})
    assert [part_of_day(datetime(2026, 1, 1, h)) for h in (4, 5, 11, 12, 16, 17, 21, 22)] == \
        ["night", "morning", "morning", "afternoon", "afternoon", "evening", "evening", "night"]


@pytest.mark.parametrize("language, question", [("en", "how are you"), ("ko", "어떻게 지내")])
def test_a_reply_that_asks_something_wants_a_follow_up(language, question):
    d = Dialogue(language, clock=lambda: AFTERNOON, seed=0)
    replies = [d.reply(question) for _ in range(12)] + [d.reply("thank you" if language == "en" else "고마워")]
    assert any(r.follow_up for r in replies) and not all(r.follow_up for r in replies)
    assert all(r.follow_up == r.text.endswith("?") for r in replies)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_built_in_personas_have_every_line(language):
    persona = builtin(language)
    assert set(persona.lines) == set(LINES)
    assert persona.name == {"en": "Samantha", "ko": "사만다"}[language] and persona.language == language
    assert persona.prompt and persona.voice["voice"].startswith(language)


# --- phrases (the speech recogniser's grammar) ---------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_phrases_are_normalised_understood_and_hold_the_spoken_sentences(language):
    d = Dialogue(language, seed=0)
    phrases = d.phrases()
    assert phrases == sorted(set(phrases))
    assert all(p == " ".join(p.split()) and p and "{" not in p for p in phrases)
    assert all(understands(d, p) for p in phrases)
    assert set(SPOKEN[language]) <= set(phrases)


def test_phrases_expand_optional_words_and_lists():
    phrases = Dialogue("ko", seed=0).phrases()
    assert "몇 시야" in phrases and "지금 몇 시야" in phrases and " 몇 시야" not in phrases
    assert {"삼분 타이머", "오분 타이머", "라면 타이머 삼분", "계란 타이머 오분"} <= set(phrases)


@pytest.mark.parametrize("language, said, slots", [
    ("en", "set a timer for ninety seconds", {"seconds": 90}), ("en", "set the volume to forty five", {"volume_level": 45}),
    ("en", "wake me up at eleven", {"hour": 11}),
])
def test_a_number_range_is_in_the_grammar_in_words_and_read_as_its_number(language, said, slots):
    d = Dialogue(language, seed=0)
    assert said in d.phrases()
    intent, found = d.understand(said)
    assert intent in ("HassStartTimer", "HassSetVolume", "SpeakerSetAlarm") and found.items() >= slots.items()


def test_typed_only_sentences_stay_out_of_the_grammar():
    d = Dialogue("ko", seed=0)
    phrases = set(d.phrases())
    for typed in ("타이머 전부 취소", "5분 타이머 맞춰줘", "내 이름은 민수야", "외로워", "7시에 깨워줘", "볼륨 올려"):
        assert understands(d, typed) and typed not in phrases


def test_the_korean_grammar_is_words_the_model_knows_and_no_short_endings():
    words = {w for p in Dialogue("ko").phrases() for w in p.split()}
    assert known_words(model_path(Settings(), "ko"), words) == words
    assert {w for w in words if len(w) == 1} <= KO_SHORT_WORDS_ALLOWED
    assert len(words) <= 60  # every word added is one more that anything can be heard as


@pytest.mark.parametrize("language, said, name", [
    ("en", "turn on the living room light", "living room light"),
    ("ko", "거실 불 켜줘", "거실 불"),
])
def test_a_configured_device_is_switched_and_taught_to_the_recogniser(language, said, name):
    d = Dialogue(language, seed=0, devices=("living room light", "거실 불"))
    reply = d.reply(said)
    assert reply.intent == "HassTurnOn" and reply.command == Command(CommandName.SWITCH, {"device": name, "on": True})
    assert name in reply.text
    assert said in d.phrases() and d.knows_word_for_word(said)
    off = d.reply(said.replace("turn on", "turn off").replace("켜줘", "꺼"))
    assert off.command == Command(CommandName.SWITCH, {"device": name, "on": False})


def test_an_unknown_device_gets_a_kind_word_and_switches_nothing():
    d = Dialogue("en", seed=0, devices=("lamp",))
    reply = d.reply("turn on the garage door")
    assert reply.events == () and reply.command is None and "don't know" in reply.text
    assert not d.knows_word_for_word("turn on the garage door")  # free text: never forced out of the grammar


# --- turning the microphone off asks first ---------------------------------------------------------

@pytest.mark.parametrize("language, mute, yes, no", [("en", "mute", "yes", "no"), ("ko", "음소거", "그래", "아니"),
                                                      ("en", "turn off the microphone", "sure", "don't"),
                                                      ("ko", "마이크 꺼", "응", "싫어")])
def test_turning_the_microphone_off_by_voice_asks_first(language, mute, yes, no):
    """Once off, only the button or the bus turns the microphone back on: a misheard "mute" must not
    leave the person unheard. The speaker asks (and listens for the answer); only a yes mutes."""
    clock = [datetime(2026, 12, 1, 9, 0)]
    d = Dialogue(language, clock=lambda: clock[0], seed=0)
    asked = d.reply(mute)
    assert asked.intent == "SpeakerMute" and asked.command is None and asked.follow_up
    assert d.reply(yes).command == Command(CommandName.MUTE, {"on": True})
    d.reply(mute)
    declined = d.reply(no)
    assert declined.command is None and declined.text
    assert d.reply(yes).command is None  # nothing asked now
    d.reply(mute)
    d.reply("what time is it" if language == "en" else "지금 몇 시야")  # something else: the question is dropped
    assert d.reply(yes).command is None
    d.reply(mute)
    clock[0] = datetime(2026, 12, 1, 9, 1)  # a yes a minute later is not an answer
    assert d.reply(yes).command is None


# --- a command heard by the grammar pass alone is asked about first ---------------------------------

@pytest.mark.parametrize("language, heard, yes, no, other", [
    ("en", "set the volume to forty", "yes", "no", "what time is it"),
    ("ko", "볼륨 사십", "네", "아니", "지금 몇 시야"),
    ("en", "cancel all timers", "sure", "don't", "what is the date"),
    ("ko", "알람 취소", "응", "싫어", "오늘 며칠이야")])
def test_a_command_heard_unsure_is_asked_about_and_done_only_on_a_yes(language, heard, yes, no, other):
    """Only the grammar pass heard it (free recognition heard none of it): the speaker says what it
    heard and asks; a yes does it (and is told as that command), a no or anything else does nothing;
    heard sure, it is done at once."""
    clock = [datetime(2026, 12, 1, 9, 0)]
    d = Dialogue(language, clock=lambda: clock[0], seed=0)
    d.reply("set a timer for ten minutes" if language == "en" else "10분 타이머")
    d.reply("set an alarm for seven am" if language == "en" else "아침 7시 알람 맞춰 줘")
    sure = d.reply(heard)
    assert sure.intent in ACTS

    def state():
        return d.memory.timers[:], d.memory.alarms[:]

    for answer, done in [(yes, True), (no, False), (other, False)]:
        d = Dialogue(language, clock=lambda: clock[0], seed=0)
        d.reply("set a timer for ten minutes" if language == "en" else "10분 타이머")
        d.reply("set an alarm for seven am" if language == "en" else "아침 7시 알람 맞춰 줘")
        before = state()
        asked = d.reply(Unsure(heard))
        assert asked.intent == ASKED_FIRST and asked.command is None and asked.follow_up
        assert heard in asked.text and state() == before
        replied = d.reply(answer)
        if done:
            assert replied.command == sure.command and (replied.command is not None or state() != before)
            assert (replied.intent, replied.slots) == (sure.intent, sure.slots)
        else:
            assert replied.command is None and state() == before
    d.reply(Unsure(heard))
    clock[0] = datetime(2026, 12, 1, 9, 1)  # a yes a minute later is not an answer
    before = state()
    assert d.reply(yes).command is None and state() == before


@pytest.mark.parametrize("language, heard", [("en", "what time is it"), ("ko", "지금 몇 시야")])
def test_a_question_heard_unsure_is_answered_at_once(language, heard):
    """Only what changes something is asked about: a question heard by the grammar alone is answered."""
    d = Dialogue(language, seed=0)
    assert d.reply(Unsure(heard)).intent == "HassGetCurrentTime"
