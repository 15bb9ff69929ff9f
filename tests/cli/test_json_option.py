"""One ``--json`` option for every command that prints a result, and one ``emit`` helper."""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from shopmind.cli import _output
from shopmind.cli._output import JsonOption, emit, print_readable, readable
from shopmind.cli.app import app

CLI = Path(_output.__file__).parent
#: Commands that print no result: ``serve`` runs the service until it is stopped.
NO_RESULT = {"serve"}


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(``"group sub"``, command) for every leaf command of the Typer app."""
    if hasattr(command, "commands"):  # a group (typer vendors click: duck typing)
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def _json_params(command: Any) -> list[Any]:
    return [p for p in command.params if "--json" in getattr(p, "opts", ())]


LEAVES = dict(_commands(typer.main.get_command(app)))
#: The declaration every command must carry (what ``JsonOption`` declares).
EXPECTED_HELP = JsonOption.__metadata__[0].help


def test_the_walk_finds_the_commands() -> None:
    # a walk that found nothing would pass every check below
    assert {"info", "sql", "analyze funnel", "risk review list", "assistant faq load"} <= set(
        LEAVES
    )
    assert len(LEAVES) > 60


@pytest.mark.parametrize("name", sorted(set(LEAVES) - NO_RESULT))
def test_every_result_command_declares_json_the_same_way(name: str) -> None:
    params = _json_params(LEAVES[name])
    assert len(params) == 1, f"`shopmind {name}` has no --json option"
    option = params[0]
    assert option.name == "as_json"
    assert option.opts == ["--json"] and option.secondary_opts == []
    assert option.is_flag and option.default is False
    assert option.help == EXPECTED_HELP, f"`shopmind {name}` declares its own --json"


def test_commands_without_a_result_are_named() -> None:
    assert set(LEAVES) >= NO_RESULT
    assert all(not _json_params(LEAVES[name]) for name in NO_RESULT)


def test_no_cli_module_declares_its_own_json_option_or_prints_json_itself() -> None:
    offenders = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "_output.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # _errors.py only spots --json among the arguments (errors as JSON)
            declared = isinstance(node, ast.Constant) and node.value == "--json"
            if declared and path.name != "_errors.py":
                offenders.append(f"{path.name}:{node.lineno} declares --json")
            if isinstance(node, ast.Name) and node.id == "print_json":
                offenders.append(f"{path.name}:{node.lineno} calls print_json (use emit)")
    assert not offenders, "\n".join(offenders)


PAYLOAD = {
    "when": dt.datetime(2025, 3, 1, 12, 30),
    "ratio": 1 / 3,
    "big": 1234567.891,
    "missing": math.nan,
    "rows": [{"a": 1}, {"a": 2}],
}


def test_emit_json_prints_exactly_one_document_at_full_precision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    called: list[bool] = []
    emit(PAYLOAD, True, lambda: called.append(True))
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    document, end = decoder.raw_decode(out)
    assert out[end:] == "\n"  # nothing after the one document
    assert document == {
        "when": "2025-03-01T12:30:00",
        "ratio": 1 / 3,
        "big": 1234567.891,
        "missing": None,
        "rows": [{"a": 1}, {"a": 2}],
    }
    assert not called  # the text face is not printed alongside


def test_emit_text_calls_the_render_only(capsys: pytest.CaptureFixture[str]) -> None:
    emit(PAYLOAD, False, lambda: print("rendered"))
    assert capsys.readouterr().out == "rendered\n"


def test_emit_text_without_render_is_a_readable_table(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"users": 12345, "share": 0.123456, "spend": {"total": 98765.4321}}, False)
    out = capsys.readouterr().out
    assert "12,345" in out and "0.1235" in out and "98,765.43" in out
    assert "spend.total" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_emit_title_heads_the_default_table(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"sessions": 4, "mean_events": 1.25}, False, title="sessions")
    out = capsys.readouterr().out
    assert out.lstrip().startswith("sessions") and "mean_events" in out and "1.25" in out


def test_readable_numbers() -> None:
    assert readable(None) == "" and readable(math.inf) == ""
    assert readable(1234567) == "1,234,567"
    assert readable(2 / 3) == "0.6667" and readable(12345.678) == "12,345.68"
    assert readable(True) == "yes" and readable(dt.date(2025, 1, 2)) == "2025-01-02"


def test_print_readable_list_of_rows(capsys: pytest.CaptureFixture[str]) -> None:
    print_readable([{"item": "a", "n": 1000}, {"item": "b", "score": 0.5}], title="items")
    out = capsys.readouterr().out
    assert "items" in out and "1,000" in out and "score" in out and "0.5" in out


def test_id_columns_print_verbatim_and_quantities_do_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shopmind.cli._output import print_table

    columns = ["CustomerID", "user_id", "customerid", "paid", "void"]
    print_table("t", columns, [[12345, 67890, 13579, 12345.5, 24680]])
    out = capsys.readouterr().out
    # ids as written, quantities with separators (a column named "paid" is money, not an id)
    assert "12345 " in out and "67890" in out and "13579" in out
    assert "12,345.50" in out and "24,680" in out
