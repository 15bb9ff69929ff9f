"""When a person takes over: explicit requests, angry wording (English and Chinese), low
confidence twice in a row, and high-value customers with a problem."""

from __future__ import annotations

import re

_HUMAN = [
    re.compile(
        r"\b(human|real person|representative|operator|live (agent|chat)|"
        r"(talk|speak|chat) (to|with) (an? )?(agent|person|someone|somebody|manager|staff)|"
        r"customer service (agent|person)|"
        r"(need|want|get|give me) (an? |some )?(human|person|agent|representative))\b",
        re.IGNORECASE,
    ),
    re.compile(r"人工|真人|客服人员|转接客服|找客服|要客服"),
]
_ANGRY = [
    re.compile(
        r"\b(angry|furious|terrible|horrible|awful|worst|ridiculous|unacceptable|scam|"
        r"fraud|useless|disgusting|pathetic|outrageous|fed up|sick of|wtf|damn|"
        r"complain(t)?|lawyer|sue you|rip[- ]?off)\b",
        re.IGNORECASE,
    ),
    re.compile(r"!!!+"),
    re.compile(
        r"生气|气死|愤怒|垃圾|太差|差劲|投诉|骗子|骗人|坑人|差评|无语|恶心|破玩意|什么破|滚|忍无可忍|举报"
    ),
]

#: Intents that count as a problem (a high-value customer with one goes to a person).
PROBLEM_WORDS = (
    "refund",
    "return",
    "cancel",
    "payment",
    "delay",
    "late",
    "damage",
    "broken",
    "complain",
)


def asks_for_human(text: str) -> bool:
    return any(p.search(text) for p in _HUMAN)


def is_angry(text: str) -> bool:
    return any(p.search(text) for p in _ANGRY)


def is_problem(intent: str | None) -> bool:
    return bool(intent) and any(w in str(intent).lower() for w in PROBLEM_WORDS)
