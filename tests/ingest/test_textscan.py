import codecs
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.ingest.textscan import escape_bytes, lines_at, scan_text, split_records


def _unescape(text: str) -> bytes:
    return codecs.escape_decode(text.encode())[0]


def test_scan_finds_empty_lines_and_odd_quotes(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b'a,b\n\n1,2\r\n\r\n3,"x\n4,5')
    scan = scan_text(path)
    assert scan.lines == 6 and scan.blank_lines == [2, 4] and scan.odd_quote_lines
    path.write_bytes(b'a,b\n1,"x, ""y"""\n')
    assert not scan_text(path).odd_quote_lines


def test_escaping_keeps_every_byte(tmp_path: Path) -> None:
    for raw in [b"caf\xe9 \\x", "中文".encode("gbk") + b"\\", b"plain \\ text"]:
        text = escape_bytes(raw)
        if raw.decode("utf-8", errors="ignore").encode() != raw:
            assert _unescape(text) == raw
        else:
            assert text == raw.decode()
    path = tmp_path / "l.txt"
    path.write_bytes(b"one\ntwo\r\nthree")
    assert lines_at(path, [3, 2]) == {2: b"two", 3: b"three"}


def test_an_unclosed_quote_costs_only_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'h1,h2\n1,"open\n2,ok\n\n3,"two\nlines"\n4,ok\n')
    records = list(split_records(path, ",", 2, 1))
    assert [(r.line, r.reason is None) for r in records] == [
        (2, False),
        (3, True),
        (5, True),
        (7, True),
    ]
    assert records[2].fields == ["3", "two\nlines"]
    assert records[0].reason is not None and "unclosed quote" in records[0].reason


def _reference_blank_lines(data: bytes) -> tuple[int, list[int]]:
    """The regex reading of empty lines the vectorised scan replaced (line count, blanks)."""
    import re

    data = data.removeprefix(b"\xef\xbb\xbf")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    padded = b"\n" + data
    blanks = [padded.count(b"\n", 0, m.start()) for m in re.finditer(rb"\n(?=\r?\n)", padded)]
    return data.count(b"\n"), [b + 1 for b in blanks]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b",", b'"', b"xyz"]), max_size=60))
def test_vectorised_scan_matches_the_line_by_line_reading(parts: list[bytes]) -> None:
    data = b"".join(parts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        if not data:
            return
        scan = scan_text(path)
    assert (scan.lines, scan.blank_lines) == _reference_blank_lines(data)


def test_scan_feeds_the_digest_every_byte_across_blocks(tmp_path: Path) -> None:
    import hashlib

    from shopmind.ingest import textscan

    path = tmp_path / "big.csv"
    lines = [b"a,b", b"", b"1,2"] * 1000
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    digest = hashlib.sha256()
    old = textscan._CHUNK
    textscan._CHUNK = 97  # blocks that cut lines anywhere
    try:
        scan = scan_text(path, digest=digest)
    finally:
        textscan._CHUNK = old
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert scan.lines == 3000 and scan.blank_lines == list(range(2, 3001, 3))


def test_utf8_check_of_non_ascii_runs_agrees_with_a_full_decode() -> None:
    import random

    import numpy as np

    from shopmind.ingest.textscan import is_utf8

    pieces = [b"a", b",", b"\n", "é".encode(), "绘本".encode(), "€".encode(), "𝄞".encode()]
    broken = [b"\xe7\xbb", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xff", b"\xf4\x90\x80\x80"]
    rng = random.Random(7)
    verdicts = set()
    for _ in range(3000):
        parts = [rng.choice(pieces) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.4:
            parts.insert(rng.randint(0, len(parts)), rng.choice(broken))
        if rng.random() < 0.2:  # mostly non-ASCII: the whole-decode branch
            parts = ["绘本".encode()] * 5 + parts
        raw = b"".join(parts)
        try:
            raw.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        assert is_utf8(np.frombuffer(raw, dtype=np.uint8)) == valid, raw
        verdicts.add(valid)
    assert verdicts == {True, False}  # both kinds were tried
    # a character split by an ASCII byte is no character, however the runs fall
    assert not is_utf8(np.frombuffer(b"\xe7\xbb,\x98", dtype=np.uint8))
    assert is_utf8(np.frombuffer("x绘,本y".encode(), dtype=np.uint8))


def test_regions_are_the_same_whatever_the_blocks(tmp_path: Path) -> None:
    """Lines cut by block ends, blocks without a newline (carriage-return line ends), a BOM
    and a last line without a newline: the regions join to the file, each ends a line."""
    from shopmind.ingest import textscan

    path = tmp_path / "mixed.csv"
    body = b"a,b\r\n" + b"x" * 500 + b"\rold mac\r" * 40 + b"\n1,2\n\n3,4"
    path.write_bytes(textscan.BOM + body)
    old = textscan._CHUNK
    try:
        for chunk in (1, 2, 3, 7, 97, 4096):
            textscan._CHUNK = chunk
            regions = list(textscan._line_regions(path, strip_bom=True))
            assert b"".join(regions) == body + b"\n"
            assert all(r.endswith(b"\n") for r in regions)
            scan = scan_text(path)
            assert (scan.lines, scan.blank_lines) == (5, [4])
    finally:
        textscan._CHUNK = old
