"""Fixtures for the assistant tests: a fast stand-in sentence encoder, small labelled data in
English and Chinese, and a simulated shop workspace."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import TEST_KEY

from shopmind.models import intent
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace


def fake_encode(texts: list[str], encoder: str) -> np.ndarray:
    """Deterministic bag-of-character-bigrams vectors (unit length): enough signal for tests,
    no model loaded."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        low = text.lower()
        for i in range(len(low) - 1):
            h = int.from_bytes(hashlib.md5(low[i : i + 2].encode()).digest()[:4], "little")
            out[row, h % 384] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


@pytest.fixture
def fast_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intent, "ENCODE", fake_encode)


EN = {
    "order_status": [
        "where is my order",
        "has my order shipped yet",
        "track my package please",
        "what is the status of my order",
        "when will my order be shipped",
        "can you check where my parcel is",
        "is my order on the way",
        "order status please",
    ],
    "refund_request": [
        "i want a refund",
        "please refund my money",
        "how do i get my money back",
        "refund this order",
        "i would like to return it for a refund",
        "give me a refund now",
        "can i get a refund for the broken item",
        "request refund",
    ],
    "change_address": [
        "change my delivery address",
        "i moved, update the shipping address",
        "wrong address on my order",
        "can i change the address",
        "please update my address",
        "new address for delivery",
        "edit shipping address",
        "the address is wrong",
    ],
}
ZH = {
    "order_status": [
        "我的订单到哪里了",
        "订单发货了吗",
        "帮我查一下物流",
        "快递到哪了",
        "什么时候发货",
        "查询订单状态",
        "包裹在路上了吗",
        "我的快递怎么样了",
    ],
    "refund_request": [
        "我要退款",
        "申请退款",
        "怎么退钱",
        "东西坏了要退款",
        "退款什么时候到账",
        "请给我退款",
        "不想要了退款吧",
        "退款申请",
    ],
    "change_address": [
        "修改收货地址",
        "地址填错了",
        "帮我改一下地址",
        "换个收货地址",
        "收件地址要改",
        "我搬家了改地址",
        "地址写错了怎么办",
        "更改配送地址",
    ],
}
OOS = [
    "what is the weather tomorrow",
    "tell me a joke",
    "who won the football game",
    "how tall is mount everest",
    "play some music",
    "what is the capital of france",
    "今天天气怎么样",
    "讲个笑话",
    "谁赢了比赛",
    "你喜欢什么电影",
]


def labelled(with_oos: bool = False, languages: tuple[str, ...] = ("en", "zh")) -> pd.DataFrame:
    rows = []
    for lang in languages:
        for label, texts in (EN if lang == "en" else ZH).items():
            rows += [(t, label) for t in texts]
    if with_oos:
        rows += [(t, "oos") for t in OOS]
    return pd.DataFrame(rows, columns=["text", "intent"])


@pytest.fixture(scope="session")
def shop_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated shop (orders of several customers); tests copy it before writing."""
    ws = Workspace(tmp_path_factory.mktemp("assistant_shop") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=300, days=30, seed=3)), key=TEST_KEY)
    return ws.root


@pytest.fixture
def shop(shop_ws: Path, tmp_path: Path) -> Workspace:
    import shutil

    target = tmp_path / "shop"
    shutil.copytree(shop_ws, target)
    return Workspace(target)
