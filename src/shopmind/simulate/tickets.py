"""Customer-service tickets in English and Chinese, tied to orders, with their intent."""

from __future__ import annotations

import numpy as np
import pandas as pd

TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "order_status": (
        [
            "Where is my order {o}?",
            "Can you tell me the status of order {o}?",
            "Has order {o} shipped yet?",
        ],
        ["我的订单{o}到哪里了？", "请问订单{o}发货了吗？", "帮我查一下订单{o}的状态"],
    ),
    "refund_request": (
        [
            "I want a refund for order {o}.",
            "Please refund order {o}, the item is broken.",
            "How do I get my money back for {o}?",
        ],
        ["订单{o}我要退款", "商品坏了，订单{o}申请退款", "订单{o}怎么退钱？"],
    ),
    "delivery_delay": (
        [
            "Order {o} is late, it should have arrived already.",
            "My package for {o} has not arrived.",
        ],
        ["订单{o}怎么还没到？", "快递太慢了，订单{o}还没收到"],
    ),
    "cancel_order": (
        ["Please cancel order {o}.", "I want to cancel {o} before it ships."],
        ["帮我取消订单{o}", "订单{o}不要了，请取消"],
    ),
    "payment_issue": (
        ["I was charged twice for order {o}.", "My payment for {o} failed."],
        ["订单{o}被扣了两次款", "订单{o}付款失败了"],
    ),
    "change_address": (
        ["I need to change the delivery address of order {o}."],
        ["订单{o}需要修改收货地址"],
    ),
    "product_question": (
        ["Is this item compatible with my phone?", "What size should I choose?"],
        ["这个商品支持我的手机吗？", "尺码怎么选？"],
    ),
}


def make_tickets(
    orders: pd.DataFrame,
    languages: dict[str, str],
    days: int,
    start: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """About 4% of orders get a ticket, 0.5-10 days after the order."""
    chosen = orders[rng.random(len(orders)) < 0.04]
    intents = list(TEMPLATES)
    intent = np.array(intents)[rng.integers(0, len(intents), len(chosen))]
    rows = []
    end = start + pd.Timedelta(days=days)
    columns = zip(
        chosen["user_id"].tolist(),
        chosen["order_id"].tolist(),
        chosen["ts"].tolist(),
        intent,
        strict=True,
    )
    for i, (user_id, order_id, order_ts, intent_name) in enumerate(columns):
        language = languages.get(str(user_id), "en")
        english, chinese = TEMPLATES[intent_name]
        options = chinese if language == "zh" else english
        text = options[rng.integers(0, len(options))].format(o=order_id)
        ts = min(pd.Timestamp(order_ts) + pd.Timedelta(days=float(rng.uniform(0.5, 10))), end)
        rows.append(
            (
                f"t{i:07d}",
                user_id,
                order_id,
                ts,
                language,
                rng.choice(["chat", "email", "phone"]),
                text,
                intent_name,
            )
        )
    return pd.DataFrame(
        rows,
        columns=["ticket_id", "user_id", "order_id", "ts", "language", "channel", "text", "intent"],
    )
