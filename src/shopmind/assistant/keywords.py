"""Keyword rules, English and Chinese: the baseline the learnt intent model is measured
against, and the classifier the assistant falls back on before a model is trained.

Intent names follow the simulated shop's tickets (``shopmind.simulate.tickets``) plus a few
conversational ones (``human_agent``, ``greeting``, ``recommendation``, ``last_orders``).
"""

from __future__ import annotations

import re

#: intent -> (English patterns, Chinese patterns); the first intent with a match wins.
RULES: dict[str, tuple[list[str], list[str]]] = {
    "human_agent": (
        [
            r"\b(human|real person|representative|operator|live agent|"
            r"talk to (an? )?(agent|person|someone))\b"
        ],
        ["人工", "真人", "客服人员", "转接"],
    ),
    "refund_request": (
        [r"\brefund", r"money back", r"\breturn (it|the|my)"],
        ["退款", "退钱", "退货"],
    ),
    "cancel_order": ([r"\bcancel"], ["取消", "不要了"]),
    "payment_issue": (
        [r"\bcharged", r"\bpayment", r"\bpaid twice", r"\bcard (was )?declined"],
        ["扣了", "扣款", "付款", "支付"],
    ),
    "change_address": ([r"\baddress"], ["地址"]),
    "delivery_delay": (
        [r"\blate\b", r"not (yet )?arrived", r"hasn'?t arrived", r"\bdelay", r"still waiting"],
        ["还没到", "没收到", "太慢", "延迟"],
    ),
    "order_status": (
        [r"\bwhere is", r"\bstatus\b", r"\bshipped", r"\btrack"],
        ["到哪", "发货", "状态", "物流"],
    ),
    "last_orders": ([r"\b(my|last|recent) orders\b", r"order history"], ["最近的订单", "历史订单"]),
    "recommendation": ([r"\brecommend", r"\bsuggest", r"you may also like"], ["推荐"]),
    "product_question": (
        [r"\bsize\b", r"\bcompatible", r"\bin stock\b", r"\bcolou?r\b", r"\bmaterial\b"],
        ["尺码", "支持", "有货", "颜色", "材质", "什么型号"],
    ),
    "greeting": ([r"^\s*(hi|hello|hey)\b"], ["^\\s*(你好|您好|在吗|亲)"]),
}

_COMPILED = {
    intent: [re.compile(p, re.IGNORECASE) for p in english + chinese]
    for intent, (english, chinese) in RULES.items()
}


def keyword_intent(text: str) -> str | None:
    """The first intent whose keywords occur in ``text``, or None."""
    for intent, patterns in _COMPILED.items():
        if any(p.search(text) for p in patterns):
            return intent
    return None
