import itertools

import pytest

from shopmind.privacy.redact import (
    find_pii,
    iban_valid,
    id_card_valid,
    luhn_valid,
    redact_text,
    ssn_valid,
)

# (text, expected redaction)
REDACTED = [
    ("mail bob.smith+x@example.co.uk now", "mail <EMAIL> now"),
    ("联系邮箱zhang.wei@qq.com谢谢", "联系邮箱<EMAIL>谢谢"),
    ("我的电话13912345678谢谢", "我的电话<PHONE>谢谢"),
    ("手机 +86 139 1234 5678", "手机 <PHONE>"),
    ("call 0086-139-1234-5678", "call <PHONE>"),
    ("座机 010-12345678 转", "座机 <PHONE> 转"),
    ("(0755)1234567", "<PHONE>"),
    ("+86 10 12345678", "<PHONE>"),
    ("uk +44 20 7946 0958.", "uk <PHONE>."),
    ("us (415) 555-0100, or 415-555-0101", "us <PHONE>, or <PHONE>"),
    ("+1 415 555 0100", "<PHONE>"),
    ("from 192.168.1.20 to 10.0.0.1", "from <IP> to <IP>"),
    ("v6 2001:db8::8a2e:370:7334 and ::1", "v6 <IP> and <IP>"),
    ("fe80::1%eth0", "<IP>"),
    ("::ffff:192.0.2.1 and abcd::ef", "<IP> and <IP>"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "<IP>"),
    ("身份证11010519491231002X", "身份证<ID_CARD>"),
    ("id 110101199003074573 ok", "id <ID_CARD> ok"),
    ("old form 110105491231002", "old form <ID_CARD>"),
    ("card 4111 1111 1111 1111 exp", "card <BANK_CARD> exp"),
    ("card 5500-0000-0000-0004", "card <BANK_CARD>"),
    ("卡号6222021234567890128", "卡号<BANK_CARD>"),
    ("amex 378282246310005", "amex <BANK_CARD>"),
    ("a@b.io 13912345678 1.2.3.4", "<EMAIL> <PHONE> <IP>"),
    # a URL's query values and e-mails are personal; the numbers in its path are not
    ("https://x.cn/p?phone=13912345678", "https://x.cn/p?phone=<PHONE>"),
    (
        "call 13912345678, see https://x.cn/13912345678",
        "call <PHONE>, see https://x.cn/13912345678",
    ),
    ("http://x.com/u/a@b.io", "http://x.com/u/<EMAIL>"),
    # a bare "#" is no order keyword; a card stays a card after "order"; chat links
    ("see #13812345678", "see #<PHONE>"),
    ("tracking number 4111111111111111", "tracking number <BANK_CARD>"),  # cards stay cards
    ("Visa #4111111111111111", "Visa #<BANK_CARD>"),
    ("Mastercard #5555555555554444", "Mastercard #<BANK_CARD>"),
    ("Tel. # 415-555-0100", "Tel. # <PHONE>"),
    ("SSN# 536-22-1234", "SSN# <SSN>"),
    ("order 4111 1111 1111 1111 was charged twice", "order <BANK_CARD> was charged twice"),
    ("https://wa.me/8613812345678", "https://wa.me/<PHONE>"),
    ("chat wa.me/447700900123?text=hi", "chat wa.me/<PHONE>?text=hi"),
    (
        "web.whatsapp.com/send?phone=8613812345678",
        "web.whatsapp.com/send?phone=<PHONE>",
    ),
    ("https://t.me/+447700900123", "https://t.me/<PHONE>"),
    (
        "链接https://shop.com/item/1，我的手机13812345678",
        "链接https://shop.com/item/1，我的手机<PHONE>",
    ),
    # IBANs (ISO 13616 mod-97), grouped or not
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN <IBAN> please"),
    ("refund to DE89370400440532013000.", "refund to <IBAN>."),
    ("我的账户 GB82WEST12345698765432 请退款", "我的账户 <IBAN> 请退款"),
    # UK numbers written nationally
    ("call me on 07700 900123.", "call me on <PHONE>."),
    ("office 020 7946 0958 or 0161 496 0000", "office <PHONE> or <PHONE>"),
    ("mob 07700900123", "mob <PHONE>"),
    # US SSNs, dashed
    ("My SSN is 536-22-1234", "My SSN is <SSN>"),
    # a number after a non-order word is still personal
    ("orderly 13812345678", "orderly <PHONE>"),
    ("ip 1.2.3.4 not a version", "ip <IP> not a version"),
]

# Text that must come back unchanged: ids, dates, prices, versions, times.
UNCHANGED = [
    "",
    "red running shoes size 42",
    "order 12345 qty 3 price 19.99",
    "2024-01-01T00:00:00Z",
    "2024-01-01 12:30:45",
    "version 1.2.3.4.5",
    "ts 12:30:45",
    "a::b::c",
    "sku 0123456789012",
    "card 4111-1111-1111-1112",  # fails Luhn
    "id 110101199003074578",  # wrong check character
    "id 110101199013074573",  # month 13
    "1111111111111111",  # a run of one digit is not a card
    "epoch 1704067200",
    "user_13912345678",  # part of an identifier token
    "ratio 999.999.999.999",
    "https://shop.example.com/product/13912345678",
    "see www.shop.cn/item/4111111111111111.html",
    "ISBN 0306406152",  # ten digits starting 03: no UK number ungrouped
    "also_buy: ['0307465357', '0316769487']",
    "SKU 01234567890",
    "part no 0123-456-789",
    "serial 0212345678",
    # IBAN-shaped with a wrong check, SSN-shaped that the SSA never issues
    "GB82 WEST 1234 5698 7654 33",
    "DE89370400440532013001",
    "part 666-12-3456",
    "part 912-12-3456",
    "part 536-00-1234",
    "part 536-22-0000",
    # order / tracking numbers are not phones, cards or ID cards
    "订单号13812345678还没发货",
    "订单13812345678还没发货",
    "快递单号是13812345678",
    "order 13812345678",
    "Order no. 13812345678 is late",
    "order number: 13812345678",
    # a 16-digit GA4 time stamp (microseconds) that passes Luhn: no card network starts with 1
    "event_timestamp 1612051200123454",
    # versions and the Chinese business hotline
    "version 1.2.3.4",
    "app ver. 10.0.0.1 released",
    "版本1.2.3.4",
    "客服热线400-820-8820",
    "call our hotline 400-820-8820",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacts_personal_values(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert redact_text(text) == text
    assert find_pii(text) == []


def test_find_pii_spans_and_kinds() -> None:
    text = "mail a@b.io, tel 13912345678, ip 10.1.2.3, id 11010519491231002X, card 4111111111111111"
    spans = find_pii(text)
    assert [kind for kind, _, _ in spans] == ["email", "phone", "ip", "id_card", "bank_card"]
    assert [text[s:e] for _, s, e in spans] == [
        "a@b.io",
        "13912345678",
        "10.1.2.3",
        "11010519491231002X",
        "4111111111111111",
    ]
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(spans))


def test_an_email_is_claimed_before_the_digits_inside_it() -> None:
    assert redact_text("13912345678@qq.com") == "<EMAIL>"


def test_new_kinds_in_find_pii() -> None:
    text = "iban DE89370400440532013000 ssn 536-22-1234 tel 020 7946 0958"
    assert [kind for kind, _, _ in find_pii(text)] == ["iban", "ssn", "phone"]


def test_checksums() -> None:
    assert id_card_valid("11010519491231002X")
    assert id_card_valid("11010519491231002x")
    assert not id_card_valid("110105194912310021")
    assert id_card_valid("110105491231002")
    assert not id_card_valid("110105491331002")
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("NO9386011117947")
    assert not iban_valid("GB82 WEST 1234 5698 7654 23")
    assert ssn_valid("536-22-1234") and not ssn_valid("666-22-1234")


def test_redaction_is_idempotent() -> None:
    text = "Contact bob@example.com or 13912345678, card 4111 1111 1111 1111. " * 20
    once = redact_text(text)
    assert redact_text(once) == once
    assert "@" not in once and "1391" not in once and "4111" not in once
