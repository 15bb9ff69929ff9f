"""The tables that --data options read: any common delimiter, Windows text, JSON records."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.cli._input import read_table
from shopmind.errors import ShopmindError


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("comma.csv", b"id,amount,label\n1,2.5,0\n2,3.5,1\n"),
        ("semicolon.csv", b"id;amount;label\n1;2.5;0\n2;3.5;1\n"),
        ("tab.txt", b"id\tamount\tlabel\n1\t2.5\t0\n2\t3.5\t1\n"),
        ("bom.csv", "\ufeffid,amount,label\n1,2.5,0\n2,3.5,1\n".encode()),
        (
            "records.json",
            b'[{"id": 1, "amount": 2.5, "label": 0}, {"id": 2, "amount": 3.5, "label": 1}]',
        ),
        (
            "lines.jsonl",
            b'{"id": 1, "amount": 2.5, "label": 0}\n{"id": 2, "amount": 3.5, "label": 1}\n',
        ),
    ],
)
def test_layouts_read_to_the_same_frame(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    frame = read_table(path)
    assert list(frame.columns) == ["id", "amount", "label"]
    assert frame["amount"].tolist() == [2.5, 3.5] and frame["label"].tolist() == [0, 1]


def test_windows_text_is_read_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes("ort;umsatz\nKöln;12\nMünchen;7\n".encode("cp1252"))
    frame = read_table(path)
    assert frame["ort"].tolist() == ["Köln", "München"]
    assert "Windows-1252" in capsys.readouterr().err


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShopmindError, match="File not found"):
        read_table(tmp_path / "nope.csv")
