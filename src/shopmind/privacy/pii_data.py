"""Labelled PII text: the public sets we measure on, their label mapping, and a generated
Chinese sample for phones, ID cards and bank cards.

Entity types (ours) and where they come from:

=============  ===============================================  ===================
ours           presidio synth_dataset_v2 (English)              CLUENER2020 (zh)
=============  ===============================================  ===================
PERSON         PERSON                                           name
ADDRESS        STREET_ADDRESS                                   address
LOCATION       GPE                                              -
ORGANIZATION   ORGANIZATION                                     - (not PII here)
DATE_TIME      DATE_TIME                                        -
TITLE, AGE,    TITLE, AGE, NRP, ZIP_CODE                        -
NRP, ZIP_CODE
PHONE          PHONE_NUMBER                                     -
EMAIL          EMAIL_ADDRESS                                    -
BANK_CARD      CREDIT_CARD                                      -
IBAN           IBAN_CODE                                        -
ID_NUMBER      US_SSN, US_DRIVER_LICENSE                        -
IP             IP_ADDRESS                                       -
URL            DOMAIN_NAME                                      -
=============  ===============================================  ===================

CLUENER's other eight types (company, organization, government, position, scene, book,
movie, game) are not personal data and are ignored.
"""

from __future__ import annotations

import json
import random
import zlib
from datetime import date, timedelta
from pathlib import Path

from shopmind.privacy.pii_tagger import Example, PiiModelError, Span
from shopmind.privacy.redact import luhn_valid

PRESIDIO_TO_OURS = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "GPE": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE_TIME",
    "TITLE": "TITLE",
    "AGE": "AGE",
    "NRP": "NRP",
    "ZIP_CODE": "ZIP_CODE",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "BANK_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "ID_NUMBER",
    "US_DRIVER_LICENSE": "ID_NUMBER",
    "IP_ADDRESS": "IP",
    "DOMAIN_NAME": "URL",
}
CLUENER_TO_OURS = {"name": "PERSON", "address": "ADDRESS"}
PRESIDIO_FILE = "presidio_synth_pii_en/synth_dataset_v2.json"
CLUENER_DIR = "cluener2020_zh"


def _missing(path: Path) -> PiiModelError:
    return PiiModelError(
        f"Dataset file {path} does not exist.",
        hint="Pass --data-dir pointing at the shared data folder (../shared/data).",
    )


def is_presidio_test(template_id: int, test_share: int = 30) -> bool:
    """The deterministic held-out split: a template is test when crc32 of its id mod 100
    falls below ``test_share`` (sentences of one template never straddle the split)."""
    return zlib.crc32(str(template_id).encode()) % 100 < test_share


def presidio_examples(data_dir: Path, part: str = "all") -> list[Example]:
    """presidio synth_dataset_v2 as ``(text, spans)`` with our types; ``part`` is
    ``train``, ``test`` (split by template, see :func:`is_presidio_test`) or ``all``; ``train``
    splits again by template into ``tune`` (crc32 % 100 in [30, 40), unseen templates to stop
    training and set the recall knob) and ``fit`` (the rest)."""
    path = data_dir / PRESIDIO_FILE
    if not path.is_file():
        raise _missing(path)
    out: list[Example] = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        test = is_presidio_test(int(row["template_id"]))
        tune = not test and is_presidio_test(int(row["template_id"]), 40)
        if (
            (part in ("train", "fit", "tune") and test)
            or (part == "test" and not test)
            or (part == "tune" and not tune)
            or (part == "fit" and tune)
        ):
            continue
        spans = [
            (PRESIDIO_TO_OURS[s["entity_type"]], int(s["start_position"]), int(s["end_position"]))
            for s in row["spans"]
            if s["entity_type"] in PRESIDIO_TO_OURS
        ]
        out.append((row["full_text"], sorted(spans, key=lambda s: s[1])))
    return out


def cluener_examples(data_dir: Path, part: str = "train") -> list[Example]:
    """CLUENER2020 ``train.json`` or ``dev.json`` with ``name`` / ``address`` spans only
    (offsets converted from end-inclusive to end-exclusive)."""
    path = data_dir / CLUENER_DIR / f"{part}.json"
    if not path.is_file():
        raise _missing(path)
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            spans: list[Span] = []
            for kind, values in row.get("label", {}).items():
                if kind not in CLUENER_TO_OURS:
                    continue
                for positions in values.values():
                    for start, end in positions:
                        spans.append((CLUENER_TO_OURS[kind], int(start), int(end) + 1))
            out.append((row["text"], sorted(spans, key=lambda s: s[1])))
    return out


# --- the generated Chinese sample --------------------------------------------------------

_AREAS = ("110101", "310104", "440305", "330106", "510107", "420111", "320102", "370202")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_LANDLINE_AREAS = ("010", "021", "0755", "020", "0571", "028", "027", "025")
_TEMPLATES = (
    ("PHONE", "我的手机号是{v}，发货前请先打电话。"),
    ("PHONE", "收件人电话{v}，麻烦快递送到门口"),
    ("PHONE", "联系不上的话打我座机{v}吧"),
    ("PHONE", "客服您好，换了新号码 {v} ，以后联系这个"),
    ("ID_CARD", "实名认证用的身份证号：{v}，请核对"),
    ("ID_CARD", "报关需要身份证{v}，已经上传了"),
    ("ID_CARD", "我的证件号码是{v}。"),
    ("BANK_CARD", "退款请打到我的银行卡{v}，户名写我本人"),
    ("BANK_CARD", "卡号 {v} 付款失败了，怎么回事？"),
    ("BANK_CARD", "用尾号不对的那张卡{v}付的款"),
)
_DISTRACTORS = (
    "订单号{n}还没有发货，什么时候能到？",
    "物流单号是{n}，一直显示运输中",
    "商品编码{n}的尺码偏小吗？",
    "发票号码{n}开错了抬头",
    "我在2023-11-11 20:15:00下的单，优惠券满300减40没生效",
    "这款东西价格是1299.00元，能便宜点吗",
)


def _id_card(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{rng.choice(_AREAS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def _bank_card(rng: random.Random) -> str:
    length = rng.choice((16, 16, 19))
    body = "62" + "".join(str(rng.randrange(10)) for _ in range(length - 3))
    for check in "0123456789":
        if luhn_valid(body + check):
            card = body + check
            break
    if rng.random() < 0.4:
        card = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    return card


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.3:
        area = rng.choice(_LANDLINE_AREAS)
        digits = 8 if len(area) == 3 else rng.choice((7, 8))
        number = str(rng.randrange(2, 10)) + "".join(
            str(rng.randrange(10)) for _ in range(digits - 1)
        )
        return f"({area}){number}" if rng.random() < 0.3 else f"{area}-{number}"
    mobile = f"1{rng.choice('3456789')}" + "".join(str(rng.randrange(10)) for _ in range(9))
    style = rng.randrange(4)
    if style == 1:
        return f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if style == 2:
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return mobile


def _not_pii_number(rng: random.Random) -> str:
    """An order / tracking number: 12-20 digits that fail the ID-card and Luhn checks and do
    not look like a phone number (it starts with 0 followed by 0, or with 2-9 and is long)."""
    while True:
        n = rng.choice(("00", "2", "5", "7")) + "".join(
            str(rng.randrange(10)) for _ in range(rng.randrange(11, 18))
        )
        if not luhn_valid(n):
            return n


def chinese_sample(n: int = 600, seed: int = 0) -> list[Example]:
    """``n`` generated Chinese customer messages: about 80% hold one phone (mobile or
    landline), ID card (valid check character) or bank card (Luhn, 62 prefix) number, the
    rest hold order / tracking numbers, dates and prices that are not personal data."""
    rng = random.Random(seed)
    makers = {"PHONE": _phone, "ID_CARD": _id_card, "BANK_CARD": _bank_card}
    out: list[Example] = []
    for _ in range(n):
        if rng.random() < 0.2:
            text = rng.choice(_DISTRACTORS).replace("{n}", _not_pii_number(rng))
            out.append((text, []))
            continue
        kind, template = rng.choice(_TEMPLATES)
        value = makers[kind](rng)
        start = template.index("{v}")
        text = template.replace("{v}", value)
        out.append((text, [(kind, start, start + len(value))]))
    return out
