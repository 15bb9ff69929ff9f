"""The hostile-input probe kept as a test: a corpus of small bad (and good) files, each with its
expected outcome, loaded in-process with the default settings (profile ``local``: a random
per-workspace key; PII policy ``hash``) into one workspace; then a byte scan of every file in
the workspace folder for every raw id, e-mail, phone number, address and nickname the corpus
holds. ``rows_in = loaded + quarantined + duplicates`` is checked for every load."""

# ruff: noqa: E501  (the corpus keeps each input line whole, as it is in the file)

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopmind.config import Settings
from shopmind.errors import ShopmindError
from shopmind.ingest import IngestOptions, IngestReport, ingest_file
from shopmind.privacy.keys import KEY_FILE
from shopmind.store import Workspace

TS = "2024-03-01T10:00:00Z"
H = "user_id,item_id,event_type,ts,quantity,price,query"


@dataclass
class Case:
    name: str
    content: bytes | None  # None: written by ``write`` (parquet)
    outcome: str = "ok"  # "ok" or "error"
    suffix: str = ".csv"
    fmt: str = "generic"
    options: dict[str, Any] = field(default_factory=dict)
    loaded: int | None = None
    quarantined: int | None = None
    duplicates: int = 0
    reasons: tuple[str, ...] = ()  # fragments, each in some quarantine reason
    lines: tuple[int, ...] | None = None  # physical line numbers of the quarantined records
    error: str = ""  # fragment of the error message
    filename: str = ""  # literal file name (default: name + suffix)
    neighbours: dict[str, bytes] = field(default_factory=dict)  # other files in the folder
    check: tuple[str, Any] | None = None  # (SQL with {ing} for the ingestion id, expected)
    secrets: tuple[str, ...] = ()  # raw values that must never reach the workspace
    hashed_only: bool = False  # the quarantined raw keeps only a keyed hash


def u(case: str, i: int) -> str:
    """A raw user id unique to the case (scanned for in the workspace)."""
    return f"ZEBRAUSER{case.upper().replace('_', '')}{i}"


def rows(case: str, *extra: str, n: int = 2, query: str = "red shoes") -> bytes:
    good = [f"{u(case, i)},i{i},view,{TS},1,9.5,{query}" for i in range(n)]
    return ("\n".join([H, *good, *extra]) + "\n").encode()


def ev(
    case: str, i: int, event: str = "view", ts: str = TS, qty: str = "1", query: str = "q"
) -> str:
    return f"{u(case, i)},i{i},{event},{ts},{qty},9.5,{query}"


def ids(case: str, n: int) -> tuple[str, ...]:
    return tuple(u(case, i) for i in range(n))


def jl(**kw: Any) -> str:
    return json.dumps(kw, ensure_ascii=False)


GOOD_PARQUET = "parquet_ok"
EPOCH_PARQUET = "parquet_epoch_out_of_range"

CASES: list[Case] = [
    # --- well-formed variants -------------------------------------------------------------
    Case("plain", rows("plain"), loaded=2, quarantined=0, secrets=ids("plain", 2)),
    Case("crlf", rows("crlf").replace(b"\n", b"\r\n"), loaded=2, quarantined=0),
    Case("bom", b"\xef\xbb\xbf" + rows("bom"), loaded=2, quarantined=0),
    Case("semicolon", rows("semicolon").replace(b",", b";"), loaded=2, quarantined=0),
    Case("pipe", rows("pipe").replace(b",", b"|"), loaded=2, quarantined=0),
    Case("tab", rows("tab").replace(b",", b"\t"), suffix=".tsv", loaded=2, quarantined=0),
    Case(
        "doubled_quotes",
        rows("doubled_quotes", n=1)
        + f'{u("doubled_quotes", 5)},i5,view,{TS},1,9.5,"say ""hi"""\n'.encode(),
        loaded=2,
        quarantined=0,
        check=("SELECT count(*) FROM events WHERE query = 'say \"hi\"'", 1),
    ),
    Case(
        "multi_line_record",
        (
            f'{H}\n{ev("multi_line_record", 0)}\n{u("multi_line_record", 1)},i1,view,{TS},1,9.5,"two\nlines"\n'
            f"{ev('multi_line_record', 2, event='teleport')}\n"
        ).encode(),
        loaded=2,
        quarantined=1,
        lines=(5,),
        reasons=("is not one of",),
    ),
    Case(
        "multi_line_record_crlf",
        (
            f'{H}\r\n{ev("multi_line_record_crlf", 0)}\r\n{u("multi_line_record_crlf", 1)},i1,view,{TS},1,9.5,"two\r\nlines, 13912340000"\r\n'
            f"{ev('multi_line_record_crlf', 2, event='teleport')}\r\n"
        ).encode(),
        loaded=2,
        quarantined=1,
        lines=(5,),
        check=(
            "SELECT count(*) FROM events WHERE query = 'two' || chr(13) || chr(10) || 'lines, <PHONE>'",
            1,
        ),
        secrets=("13912340000",),
    ),
    Case("header_only", (H + "\n").encode(), loaded=0, quarantined=0),
    Case(
        "duplicate_rows",
        rows("duplicate_rows", ev("duplicate_rows", 0, query="red shoes")),
        loaded=2,
        quarantined=0,
        duplicates=1,
    ),
    # --- physical-line accounting ---------------------------------------------------------
    Case(
        "blank_lines",
        f"{H}\n{ev('blank_lines', 0)}\n\n{ev('blank_lines', 1)}\n\n\n{ev('blank_lines', 2, event='fly')}\n".encode(),
        loaded=2,
        quarantined=1,
        lines=(7,),
    ),
    Case(
        "blank_lines_crlf",
        f"{H}\r\n\r\n{ev('blank_lines_crlf', 0, event='fly')}\r\n{ev('blank_lines_crlf', 1)}\r\n".encode(),
        loaded=1,
        quarantined=1,
        lines=(3,),
    ),
    Case(
        "unclosed_quote_middle",
        (
            f"{H}\n{ev('unclosed_quote_middle', 0)}\n"
            f'{u("unclosed_quote_middle", 1)},"i1,view,{TS},1,9.5,mail zebra.uq@privatemail.test\n'
            f"{ev('unclosed_quote_middle', 2)}\n{ev('unclosed_quote_middle', 3)}\n"
        ).encode(),
        loaded=3,
        quarantined=1,
        lines=(3,),
        reasons=("unclosed quote",),
        secrets=(*ids("unclosed_quote_middle", 4), "zebra.uq@privatemail.test"),
        hashed_only=True,
    ),
    Case(
        "unclosed_quote_last",
        rows("unclosed_quote_last", f'{u("unclosed_quote_last", 7)},"i7,view,{TS},,,'),
        loaded=2,
        quarantined=1,
        lines=(4,),
        secrets=(u("unclosed_quote_last", 7),),
    ),
    Case(
        "two_broken_quotes",
        (
            f'{H}\n{u("two_broken_quotes", 0)},"i0,view,{TS},1,9.5,q\n{ev("two_broken_quotes", 1)}\n'
            f'{u("two_broken_quotes", 2)},i2,view,{TS},1,9.5,5" screen\n{ev("two_broken_quotes", 3)}\n'
        ).encode(),
        loaded=2,
        quarantined=2,
        lines=(2, 4),
        secrets=ids("two_broken_quotes", 4),
    ),
    Case(
        "quote_inside_field",
        rows("quote_inside_field", f'{u("quote_inside_field", 9)},i9,view,{TS},1,9.5,a 5" screen'),
        loaded=2,
        quarantined=1,
        lines=(4,),
        secrets=(u("quote_inside_field", 9),),
    ),
    Case(
        "extra_field_with_quoted_comma",
        (
            "event_id,note,user_id,item_id,event_type,ts\n"
            f"e1x,x,{u('extra_field_with_quoted_comma', 0)},i1,view,{TS}\n"
            f'e2x,"has, comma",bob-raw-2,i2,view,{TS},EXTRA\n'
        ).encode(),
        loaded=1,
        quarantined=1,
        lines=(3,),
        reasons=("too many columns",),
        secrets=("bob-raw-2", u("extra_field_with_quoted_comma", 0)),
        hashed_only=True,
    ),
    Case(
        "missing_field",
        rows("missing_field", f"{u('missing_field', 8)},i8,view"),
        loaded=2,
        quarantined=1,
        lines=(4,),
        secrets=(u("missing_field", 8),),
        hashed_only=True,
    ),
    Case(
        "latin1_bytes",
        rows("latin1_bytes")
        + f"{u('latin1_bytes', 5)},i5,view,{TS},1,9.5,caf".encode()
        + b"\xe9\n",
        # no line is UTF-8 beyond ASCII and the byte stands alone: Windows-1252 'café'
        loaded=3,
        quarantined=0,
        check=("SELECT count(*) FROM events WHERE query = 'café'", 1),
        secrets=(u("latin1_bytes", 5),),
    ),
    Case(
        "gbk_bytes",
        rows("gbk_bytes")
        + f"{u('gbk_bytes', 5)},i5,view,{TS},1,9.5,".encode()
        + "中文".encode("gbk")
        + b"\n",
        loaded=2,
        quarantined=1,
        check=(
            "SELECT count(*) FROM quarantine WHERE raw LIKE '%\\\\xd6\\\\xd0\\\\xce\\\\xc4%'",
            1,
        ),
        secrets=(u("gbk_bytes", 5),),
    ),
    Case(
        "truncated_last_line",
        rows("truncated_last_line")[:-1] + b"\nZEBRATRUNC,i3,vi",
        loaded=2,
        quarantined=1,
        lines=(4,),
        secrets=("ZEBRATRUNC",),
    ),
    # --- literal paths ----------------------------------------------------------------------
    Case(
        "glob_question",
        rows("glob_question", n=1),
        filename="x?.csv",
        neighbours={
            "xa.csv": rows("glob_neighbour_a", n=3),
            "xb.csv": rows("glob_neighbour_b", n=4),
        },
        loaded=1,
        quarantined=0,
    ),
    Case(
        "glob_star",
        rows("glob_star", n=1),
        filename="g*.csv",
        neighbours={
            "g1.csv": rows("glob_neighbour_c", n=3),
            "gg.csv": rows("glob_neighbour_d", n=2),
        },
        loaded=1,
        quarantined=0,
    ),
    Case(
        "glob_brackets",
        rows("glob_brackets", n=1),
        filename="b[12].csv",
        neighbours={"b1.csv": rows("glob_neighbour_e", n=3)},
        loaded=1,
        quarantined=0,
    ),
    # --- values -----------------------------------------------------------------------------
    Case(
        "decimal_comma",
        rows("decimal_comma", ev("decimal_comma", 5, qty='"1,5"')),
        loaded=2,
        quarantined=1,
        reasons=("ambiguous (a decimal comma?)",),
    ),
    Case(
        "decimal_comma_declared",
        (
            f'{H}\n{u("decimal_comma_declared", 0)},i0,view,{TS},"1,5","9,5",q\n'
            f'{u("decimal_comma_declared", 1)},i1,view,{TS},"1.234,5",2,q\n'
        ).encode(),
        options={"decimal": ","},
        loaded=2,
        quarantined=0,
        check=("SELECT sum(quantity) FROM events WHERE ingestion_id = '{ing}'", 1236.0),
    ),
    Case(
        "thousands_separator",
        f"{H}\n{ev('thousands_separator', 0, qty=chr(34) + '1,500' + chr(34))}\n".encode(),
        loaded=1,
        quarantined=0,
        check=("SELECT quantity FROM events WHERE ingestion_id = '{ing}'", 1500.0),
    ),
    Case(
        "not_a_number",
        rows("not_a_number", ev("not_a_number", 5, qty="two")),
        loaded=2,
        quarantined=1,
        reasons=("is not a number",),
    ),
    Case(
        "huge_number",
        rows("huge_number", ev("huge_number", 5, qty="1e400")),
        loaded=2,
        quarantined=1,
    ),
    Case(
        "bad_date",
        rows("bad_date", ev("bad_date", 5, ts="2024-13-45T00:00:00Z")),
        loaded=2,
        quarantined=1,
        reasons=("is not a timestamp",),
    ),
    Case(
        "far_future",
        rows("far_future", ev("far_future", 5, ts="2999-01-01T00:00:00Z")),
        loaded=2,
        quarantined=1,
        reasons=("out of range",),
    ),
    Case(
        "naive_ts",
        rows("naive_ts", ev("naive_ts", 5, ts="2024-03-01 10:00:00")),
        loaded=2,
        quarantined=1,
        reasons=("has no time zone",),
    ),
    Case(
        "unknown_event",
        rows("unknown_event", ev("unknown_event", 5, event="teleport")),
        loaded=2,
        quarantined=1,
        reasons=("is not one of",),
    ),
    Case(
        "missing_user",
        rows("missing_user", f",i5,view,{TS},1,9.5,q"),
        loaded=2,
        quarantined=1,
        reasons=("both missing",),
    ),
    Case(
        "phone_in_quantity",
        rows("phone_in_quantity", ev("phone_in_quantity", 5, qty="13987654321")),
        loaded=2,
        quarantined=1,
        secrets=("13987654321",),
    ),
    # --- JSON lines -------------------------------------------------------------------------
    Case(
        "json_ok",
        "\n".join(
            jl(user_id=u("json_ok", i), item_id="i1", event_type="view", ts=TS) for i in range(2)
        ).encode()
        + b"\n",
        suffix=".jsonl",
        loaded=2,
        quarantined=0,
        secrets=ids("json_ok", 2),
    ),
    Case(
        "json_nested_object_id",
        (
            jl(user_id=u("json_nested_object_id", 0), item_id="i1", event_type="view", ts=TS)
            + "\n"
            + jl(
                user_id={"id": u("json_nested_object_id", 1)},
                item_id="i1",
                event_type="view",
                ts=TS,
            )
            + "\n"
        ).encode(),
        suffix=".jsonl",
        loaded=1,
        quarantined=1,
        reasons=("nested JSON object",),
        secrets=ids("json_nested_object_id", 2),
    ),
    Case(
        "json_nested_array_id",
        (
            jl(user_id=u("json_nested_array_id", 0), item_id="i1", event_type="view", ts=TS)
            + "\n"
            + jl(
                user_id=u("json_nested_array_id", 1), item_id=["i1", "i2"], event_type="view", ts=TS
            )
            + "\n"
        ).encode(),
        suffix=".jsonl",
        loaded=1,
        quarantined=1,
        reasons=("item_id is a nested JSON array",),
    ),
    Case(
        "json_invalid_line",
        (
            jl(user_id=u("json_invalid_line", 0), item_id="i1", event_type="view", ts=TS)
            + "\n"
            + '{"user_id": "ZEBRAJSONRAW", "email": "zebra.json@privatemail.test", broken\n'
            + "\n"
            + jl(user_id=u("json_invalid_line", 1), item_id="i1", event_type="fly", ts=TS)
            + "\n"
        ).encode(),
        suffix=".jsonl",
        loaded=1,
        quarantined=2,
        lines=(2, 4),
        reasons=("not a JSON object",),
        secrets=("ZEBRAJSONRAW", "zebra.json@privatemail.test", *ids("json_invalid_line", 2)),
    ),
    Case(
        "json_array_line",
        (
            jl(user_id=u("json_array_line", 0), item_id="i1", event_type="view", ts=TS)
            + '\n["ZEBRAARRAYID", 1]\n'
        ).encode(),
        suffix=".jsonl",
        loaded=1,
        quarantined=1,
        secrets=("ZEBRAARRAYID",),
        hashed_only=True,
    ),
    # --- personal data in free text and columns ---------------------------------------------
    Case(
        "free_text_contacts",
        rows(
            "free_text_contacts",
            ev("free_text_contacts", 5, query="call +44 7700 900461 or zebra.ft@privatemail.test"),
            ev("free_text_contacts", 6, query="我的手机13912345678 座机010-62345678"),
            ev(
                "free_text_contacts",
                7,
                query="id 11010519491231002X card 4111 1111 1111 1111 ip 203.0.113.9",
            ),
            ev(
                "free_text_contacts",
                8,
                event="fly",
                query="quarantined: (415) 555-0134 zebra.fq@privatemail.test",
            ),
        ),
        loaded=5,
        quarantined=1,
        check=(
            "SELECT count(*) FROM events WHERE ingestion_id = '{ing}' AND query LIKE '%<PHONE>%'",
            2,
        ),
        secrets=(
            "+44 7700 900461",
            "zebra.ft@privatemail.test",
            "13912345678",
            "010-62345678",
            "11010519491231002X",
            "4111 1111 1111 1111",
            "203.0.113.9",
            "(415) 555-0134",
            "zebra.fq@privatemail.test",
        ),
    ),
    Case(
        "extra_contact_columns_events",
        (
            f"{H},contact,home,nickname,wechat\n"
            f"{ev('extra_contact_columns_events', 0)},+86 139 8765 4321,221B Zebra Street,ZebraNickEv,wx_zebra_ev\n"
            f"{ev('extra_contact_columns_events', 1, event='fly')},+86 139 8765 4322,221C Zebra Street,ZebraNickEv2,wx_zebra_ev2\n"
        ).encode(),
        loaded=1,
        quarantined=1,
        secrets=(
            "139 8765 4321",
            "139 8765 4322",
            "221B Zebra Street",
            "221C Zebra Street",
            "ZebraNickEv",
            "wx_zebra_ev",
        ),
    ),
    Case(
        "users_contact_columns",
        (
            "user_id,signup_ts,email,mobile,contact,home,nickname,wechat,remark,tier\n"
            + "".join(
                f"{u('users_contact_columns', i)},{TS},zebra.user{i}@privatemail.test,1391234{i:04d},"
                f"zebra.c{i}@privatemail.test,{i} Zebra Road Springfield,ZebraNick{i},wx_zebra{i},"
                f"ZebraRemark{i},{'gold' if i % 2 else 'silver'}\n"
                for i in range(6)
            )
        ).encode(),
        options={"table": "users"},
        loaded=6,
        quarantined=0,
        check=(
            "SELECT count(*) FROM users WHERE ingestion_id = '{ing}' AND (attributes->>'tier') IN ('gold', 'silver') "
            "AND (attributes->>'nickname_hash') LIKE 'h_%' AND (attributes->>'remark_hash') LIKE 'h_%'",
            6,
        ),
        secrets=(
            *ids("users_contact_columns", 6),
            *(f"zebra.user{i}@privatemail.test" for i in range(6)),
            *(f"1391234{i:04d}" for i in range(6)),
            *(f"{i} Zebra Road Springfield" for i in range(6)),
            *(f"ZebraNick{i}" for i in range(6)),
            *(f"wx_zebra{i}" for i in range(6)),
            *(f"ZebraRemark{i}" for i in range(6)),
        ),
    ),
    Case(
        "users_chinese_column_names",
        (
            "user_id,电话,地址\n"
            + "".join(
                f"{u('users_chinese_column_names', i)},1380013{i:04d},北京市海淀区斑马路{i}号\n"
                for i in range(3)
            )
        ).encode(),
        options={"table": "users"},
        loaded=3,
        quarantined=0,
        secrets=(
            *(f"1380013{i:04d}" for i in range(3)),
            *(f"北京市海淀区斑马路{i}号" for i in range(3)),
        ),
    ),
    Case(
        "users_drop_policy",
        (
            "user_id,nickname,phone\n"
            + "".join(
                f"{u('users_drop_policy', i)},ZebraDrop{i},+1 415 555 01{i:02d}\n" for i in range(2)
            )
        ).encode(),
        options={"table": "users", "pii_policy": "drop"},
        loaded=2,
        check=(
            "SELECT count(*) FROM users WHERE ingestion_id = '{ing}' AND attributes IS NOT NULL AND attributes::VARCHAR <> '{{}}'",
            0,
        ),
        secrets=("ZebraDrop0", "ZebraDrop1", "+1 415 555 0100"),
    ),
    Case(
        "users_keep_attribute",
        f"user_id,segment_code\n{u('users_keep_attribute', 0)},B7\n".encode(),
        options={"table": "users", "keep_attributes": ("segment_code",)},
        loaded=1,
        check=("SELECT attributes->>'segment_code' FROM users WHERE ingestion_id = '{ing}'", "B7"),
    ),
    Case(
        "users_bad_signup_row",
        (
            "user_id,signup_ts,email,nickname\n"
            f"{u('users_bad_signup_row', 0)},{TS},zebra.sg0@privatemail.test,ZebraSg0\n"
            f"{u('users_bad_signup_row', 1)},not-a-date,zebra.sg1@privatemail.test,ZebraSg1\n"
        ).encode(),
        options={"table": "users"},
        loaded=1,
        quarantined=1,
        secrets=(
            "zebra.sg0@privatemail.test",
            "zebra.sg1@privatemail.test",
            "ZebraSg0",
            "ZebraSg1",
        ),
    ),
    Case(
        "items_description",
        (
            b"item_id,title,description,color\n"
            b"zi1,Tea,Ask zebra.shop@privatemail.test or 13855554444 about it,green\n"
            b"zi2,Cup,plain description,white\n"
        ),
        options={"table": "items"},
        loaded=2,
        check=("SELECT count(*) FROM items WHERE description LIKE '%<EMAIL>%<PHONE>%'", 1),
        secrets=("zebra.shop@privatemail.test", "13855554444"),
    ),
    Case(
        "orders_ip",
        (
            "order_id,user_id,ts,amount,ip_address,shipping_address\n"
            f"zo1,{u('orders_ip', 0)},{TS},12,198.51.100.23,42 Zebra Lane\n"
        ).encode(),
        options={"table": "orders"},
        loaded=1,
        secrets=("198.51.100.23", "42 Zebra Lane", u("orders_ip", 0)),
    ),
    # --- named formats ----------------------------------------------------------------------
    Case(
        "fraud_ok",
        (
            b"user_id,signup_time,purchase_time,purchase_value,device_id,source,browser,sex,age,class,ip_address\n"
            b"ZEBRAFRAUD1,2/24/15 22:55,4/18/15 2:47,34,ZEBRADEVICE1,SEO,Chrome,M,39,0,192.0.2.44\n"
            b"ZEBRAFRAUD2,6/7/15 20:39,6/8/15 1:38,16,ZEBRADEVICE2,Ads,Chrome,F,53,1,192.0.2.45\n"
        ),
        fmt="fraud_data",
        loaded=2,
        quarantined=0,
        secrets=("ZEBRAFRAUD1", "ZEBRAFRAUD2", "ZEBRADEVICE1", "192.0.2.44"),
    ),
    Case(
        "fraud_dates_outside_window",
        (
            b"user_id,signup_time,purchase_time,purchase_value,device_id,source,browser,sex,age,class\n"
            b"ZEBRAFRAUD3,2/24/15 22:55,4/18/15 2:47,34,ZEBRADEVICE3,SEO,Chrome,M,39,0\n"
            b"ZEBRAFRAUD4,1/1/1900 10:00,1/2/1900 10:00,16,ZEBRADEVICE4,Ads,Chrome,F,53,0\n"
            b"ZEBRAFRAUD5,1/1/2099 10:00,1/2/2099 10:00,16,ZEBRADEVICE5,Ads,Chrome,F,53,0\n"
        ),
        fmt="fraud_data",
        loaded=1,
        quarantined=2,
        reasons=("plausible window",),
        secrets=("ZEBRAFRAUD4", "ZEBRADEVICE4", "ZEBRAFRAUD5"),
    ),
    Case(
        "cdnow_master",
        b" customer_id  date number_of_cds  dollar_value\n 90001 19970101  1   11.77\n 90002 19970112  1   12.00\n 90002 19970112  5   77.00\n",
        suffix=".txt",
        fmt="cdnow",
        loaded=3,
        quarantined=0,
    ),
    Case(
        "cdnow_extra_field_line",
        b" 91001 19970101  1   11.77\n 91002 19970112  1   12.00\n 91003 0001 19970112  5   77.00\n 91004 19970113  2   20.00\n",
        suffix=".txt",
        fmt="cdnow",
        loaded=3,
        quarantined=1,
        lines=(3,),
        reasons=("expected 4 fields, found 5",),
    ),
    Case(
        "cdnow_dates_outside_window",
        b" 92001 19970101  1   11.77\n 92002 19000112  1   12.00\n 92003 20990112  5   77.00\n",
        suffix=".txt",
        fmt="cdnow",
        loaded=1,
        quarantined=2,
        reasons=("plausible window",),
    ),
    Case(
        "cdnow_sample_layout",
        b" 93004 0001 19970101  2   29.33\n 93004 0001 19970118  2   29.73\n",
        suffix=".txt",
        fmt="cdnow",
        loaded=2,
        quarantined=0,
    ),
    Case(
        "taobao_no_header",
        b"ZEBRATB1,2268318,2520377,pv,1511544070\nZEBRATB2,2333346,2520771,buy,1511561733\nZEBRATB3,2333346,2520771,teleport,1511561733\n",
        fmt="taobao_userbehavior",
        loaded=2,
        quarantined=1,
        secrets=("ZEBRATB1", "ZEBRATB3"),
    ),
    Case(
        "sequences_lines",
        b"ZEBRASEQ1 a1 a2 a3\nZEBRASEQ2 a2 a4\n",
        suffix=".txt",
        fmt="sequences",
        loaded=2,
        quarantined=0,
        secrets=("ZEBRASEQ1",),
    ),
    Case(
        GOOD_PARQUET, None, suffix=".parquet", loaded=2, quarantined=0, secrets=ids(GOOD_PARQUET, 2)
    ),
    Case(
        EPOCH_PARQUET,
        None,
        suffix=".parquet",
        loaded=1,
        quarantined=1,
        reasons=("out of range",),
        lines=(1,),
        secrets=ids(EPOCH_PARQUET, 2),
    ),
    # --- errors (nothing written) -----------------------------------------------------------
    Case("empty_file", b"", "error", error="empty"),
    Case(
        "missing_column",
        b"user_id,item_id\nZEBRAMC,i1\n",
        "error",
        error="Required column 'event_type'",
    ),
    Case("binary_garbage", bytes(range(256)) * 20, "error", error="Required column"),
    Case("unknown_format", rows("unknown_format"), "error", fmt="nope", error="Known formats"),
    Case(
        "all_rows_bad",
        f"{H}\n{ev('all_rows_bad', 0, event='fly')}\n{ev('all_rows_bad', 1, event='swim')}\n".encode(),
        "error",
        error="No row of",
        secrets=ids("all_rows_bad", 2),
    ),
    Case(
        "bad_decimal_option",
        rows("bad_decimal_option"),
        "error",
        options={"decimal": ";"},
        error="--decimal",
    ),
    Case(
        "map_to_missing_column",
        rows("map_to_missing_column"),
        "error",
        options={"mapping": {"ts": "when"}},
        error="no column 'when'",
    ),
]


def _write(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (case.filename or f"{case.name}{case.suffix}")
    for name, content in case.neighbours.items():
        (folder / name).write_bytes(content)
    if case.name == GOOD_PARQUET:
        pq.write_table(
            pa.table(
                {
                    "user_id": ids(GOOD_PARQUET, 2),
                    "item_id": ["i1", "i2"],
                    "event_type": ["view", "cart"],
                    "ts": pa.array([1709287200000, 1709287260000], pa.timestamp("ms", tz="UTC")),
                }
            ),
            path,
        )
    elif case.name == EPOCH_PARQUET:
        pq.write_table(
            pa.table(
                {
                    "user_id": ids(EPOCH_PARQUET, 2),
                    "item_id": ["i1", "i2"],
                    "event_type": ["view", "view"],
                    "ts": pa.array([10**17, 1709287200000], pa.timestamp("ms", tz="UTC")),
                }
            ),
            path,
        )
    else:
        assert case.content is not None
        path.write_bytes(case.content)
    return path


@dataclass
class Loaded:
    ws: Workspace
    outcomes: dict[str, IngestReport | ShopmindError]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Every case loaded, in order, into one workspace with the default settings."""
    root = tmp_path_factory.mktemp("corpus")
    ws = Workspace(root / "ws").init()
    settings = Settings(profile="local")  # the default profile: a per-workspace random key
    key = settings.key_choice(ws.root)
    assert key.created and key.source == "workspace"
    outcomes: dict[str, IngestReport | ShopmindError] = {}
    for case in CASES:
        path = _write(case, root / "files" / case.name)
        chosen = {"pii_policy": settings.pii_policy, **case.options}
        options = IngestOptions(format=case.fmt, key=key.key, **chosen)
        try:
            outcomes[case.name] = ingest_file(ws, path, options)
        except ShopmindError as exc:
            outcomes[case.name] = exc
    return Loaded(ws, outcomes)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, corpus: Loaded) -> None:
    outcome = corpus.outcomes[case.name]
    if case.outcome == "error":
        assert isinstance(outcome, ShopmindError), outcome
        assert case.error in str(outcome)
        return
    assert isinstance(outcome, IngestReport), outcome
    report = outcome
    assert (
        report.rows_in == report.rows_loaded + report.rows_quarantined + report.duplicates_skipped
    )
    if case.loaded is not None:
        assert report.rows_loaded == case.loaded, report
    if case.quarantined is not None:
        assert report.rows_quarantined == case.quarantined, report
    assert report.duplicates_skipped == case.duplicates, report
    for fragment in case.reasons:
        assert any(fragment in reason for reason in report.quarantine_reasons), report
    with corpus.ws.connect(read_only=True) as con:
        stored = con.execute(
            "SELECT row_number, raw, reason FROM quarantine WHERE ingestion_id = ? ORDER BY 1",
            [report.ingestion_id],
        ).fetchall()
        assert len(stored) == report.rows_quarantined
        if case.lines is not None:
            assert tuple(r[0] for r in stored) == case.lines
        if case.hashed_only:
            assert any(json.loads(r[1]).keys() == {"raw_hash"} for r in stored), stored
        if case.check is not None:
            sql, expected = case.check
            got = con.execute(sql.format(ing=report.ingestion_id)).fetchall()
            assert got[0][0] == expected, (sql, got)


def _secrets() -> list[str]:
    values = {s for c in CASES for s in c.secrets}
    for s in list(values):
        digits = "".join(ch for ch in s if ch.isdigit())
        if len(digits) >= 10 and not s.startswith("ZEBRA"):
            values.add(digits)  # a phone or card number written without separators
        values.add(s.lower())
    return sorted(values)


def test_no_raw_personal_value_in_any_workspace_file(corpus: Loaded) -> None:
    with corpus.ws.connect() as con:
        con.execute("CHECKPOINT")
    files = [p for p in corpus.ws.root.rglob("*") if p.is_file()]
    assert any(p.name == "shopmind.duckdb" for p in files)
    blob = b"\0".join(p.read_bytes() for p in files)
    secrets = _secrets()
    assert len(secrets) > 100
    found = [s for s in secrets if s.encode() in blob]
    assert found == []
    # the data is there, under pseudonyms and placeholders
    with corpus.ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] > 80
        assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] > 30


def test_workspace_key_is_private_and_apart_from_the_database(corpus: Loaded) -> None:
    path = corpus.ws.root / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = path.read_text().strip().encode()
    assert len(key) == 64
    blob = corpus.ws.db_path.read_bytes()
    assert key not in blob
    # no spill folder was left in the workspace
    assert not (corpus.ws.root / "shopmind.duckdb.tmp").exists() or not any(
        (corpus.ws.root / "shopmind.duckdb.tmp").iterdir()
    )


def test_reingesting_a_changed_file_adds_no_quarantine_rows(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    path = tmp_path / "again.csv"
    bad = f"{u('again', 9)},i9,teleport,{TS},1,9.5,q"
    broken = f'{u("again", 8)},"i8,view,{TS},1,9.5,q'
    path.write_bytes(rows("again", bad, broken))
    opts = IngestOptions(format="generic", key=b"k" * 32)
    first = ingest_file(ws, path, opts)
    assert (first.rows_loaded, first.rows_quarantined) == (2, 2)
    path.write_bytes(rows("again", bad, broken) + (ev("again", 3) + "\n").encode())
    second = ingest_file(ws, path, opts)
    assert (second.rows_loaded, second.rows_quarantined, second.duplicates_skipped) == (1, 0, 4)
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(2,)]


def test_spills_go_to_a_private_folder_outside_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    seen: list[str] = []
    original = duckdb.DuckDBPyConnection.execute

    def spy(self: duckdb.DuckDBPyConnection, sql: str, *args: Any) -> Any:
        if "temp_directory" in sql:
            seen.append(sql)
        return original(self, sql, *args)

    ws = Workspace(tmp_path / "ws").init()
    path = tmp_path / "s.csv"
    path.write_bytes(rows("spill"))
    monkeypatch.setattr(duckdb.DuckDBPyConnection, "execute", spy)
    ingest_file(ws, path, IngestOptions(format="generic", key=b"k" * 32))
    monkeypatch.undo()
    assert len(seen) == 1
    folder = seen[0].split("'")[1]
    assert not folder.startswith(str(ws.root.resolve())) and not folder.startswith(str(ws.root))
    assert not Path(folder).exists()  # removed after the load
    assert os.path.basename(os.path.dirname(folder)).startswith("shopmind-ingest-")


def test_invalid_pii_policy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_PII_POLICY", "scramble")
    with pytest.raises(ShopmindError, match="SHOPMIND_PII_POLICY='scramble' is not valid"):
        Settings()
