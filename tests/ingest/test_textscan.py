import codecs
from pathlib import Path

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
