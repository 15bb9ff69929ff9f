"""The contract outside checks use: ``assistant train`` then ``assistant classify`` through the
real command (default encoders), and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.assistant.conftest import labelled
from tests.conftest import TEST_KEY, query, run_cli

from shopmind.store import Workspace


def _cli(ws: Path, *args: str) -> object:
    return run_cli("--workspace", str(ws), "assistant", *args)


@pytest.mark.slow
def test_train_then_classify_contract(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    train = tmp_path / "train.csv"
    labelled(with_oos=True).rename(columns={"intent": "label"}).to_csv(train, index=False)
    result = _cli(
        ws,
        "train",
        "--data",
        str(train),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--oos-label",
        "oos",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["intents"] == 3 and report["oos_rows"] == 10
    assert report["encoders"] == ["minilm", "e5"]
    oos = report["out_of_scope"]
    assert {"threshold", "in_scope_accuracy", "oos_recall"} <= set(oos)

    test = tmp_path / "test.csv"
    texts = ["where is my parcel?", "我要退款", "tell me a joke", "change my shipping address"]
    pd.DataFrame({"id": range(4), "text": texts}).to_csv(test, index=False)
    out = tmp_path / "preds.csv"
    result = _cli(ws, "classify", "--data", str(test), "--text-col", "text", "--out", str(out))
    assert result.returncode == 0, result.stderr
    header = out.read_text().splitlines()[0]
    assert header.startswith("row,intent,confidence")
    preds = pd.read_csv(out)
    assert preds["row"].tolist() == [0, 1, 2, 3]
    assert preds["intent"].tolist() == ["order_status", "refund_request", "oos", "change_address"]
    assert preds["confidence"].between(0, 1).all()


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    one = tmp_path / "one.csv"
    pd.DataFrame({"text": ["refund please", "money back"], "intent": ["refund", "refund"]}).to_csv(
        one, index=False
    )
    result = _cli(ws, "train", "--data", str(one), "--encoder", "none")
    assert result.returncode == 2
    assert "1 intent(s)" in result.stderr and "at least 2" in result.stderr
    assert "Traceback" not in result.stderr

    good = tmp_path / "good.csv"
    labelled(languages=("en",)).to_csv(good, index=False)
    result = _cli(ws, "train", "--data", str(good), "--label-col", "category", "--encoder", "none")
    assert result.returncode == 2 and "'category' not in" in result.stderr
    assert "--label-col" in result.stderr

    result = _cli(ws, "train", "--data", str(good), "--encoder", "none")
    assert result.returncode == 0, result.stderr

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["where is my order", "", "x" * 100_000]}).to_csv(bad, index=False)
    result = _cli(ws, "classify", "--data", str(bad), "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 2 and "longer than 10,000 characters in row(s) 2" in result.stderr
    # an empty message is out of scope with no confidence; its neighbours get their answers
    gaps = tmp_path / "gaps.csv"
    messages = ["where is my order", "  ", None, "refund please"]
    pd.DataFrame({"id": range(4), "text": messages}).to_csv(gaps, index=False)
    result = _cli(ws, "classify", "--data", str(gaps), "--out", str(tmp_path / "g.csv"), "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["empty_messages"] == 2
    answered = pd.read_csv(tmp_path / "g.csv", keep_default_na=False)
    assert answered["row"].tolist() == [0, 1, 2, 3]
    assert answered["out_of_scope"].astype(str).tolist()[1:3] == ["True", "True"]
    assert answered["confidence"].tolist()[1:3] == [0.0, 0.0]
    assert all(answered["intent"][[0, 3]] != "") and (answered["confidence"][[0, 3]] > 0).all()
    big = tmp_path / "big.csv"
    pd.DataFrame({"text": ["where is my order", "x" * 100_000]}).to_csv(big, index=False)
    result = _cli(ws, "classify", "--data", str(big), "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 2 and "longer than 10,000 characters in row(s) 1" in result.stderr
    result = _cli(ws, "classify", "--data", str(good), "--text-col", "body", "--out", "p.csv")
    assert result.returncode == 2 and "'body' not in" in result.stderr

    result = _cli(tmp_path / "fresh", "classify", "--data", str(good), "--out", "p.csv")
    assert result.returncode == 2 and "assistant train" in result.stderr


def test_ask_and_agent_reply_from_the_command_line(shop_ws: Path, tmp_path: Path) -> None:
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(shop_ws, ws)
    result = _cli(ws, "ask", "--conversation", "c-1", "--user", "u0000003", "hello")
    assert result.returncode == 0, result.stderr
    assert "reply:" in result.stdout and "handoff: false" in result.stdout
    # this shop keeps ids as loaded (--pseudonymize off): a known id stays, and so does a new
    # customer's (the same person loaded later gets the same id); tests/store/test_erasure.py
    # covers a pseudonymised workspace
    key = {"SHOPMIND_PSEUDONYMIZE_KEY": TEST_KEY.decode()}
    result = run_cli(
        "--workspace", str(ws), "assistant", "ask", "--conversation", "c-2", "--user",
        "new-customer-77", "where is my order?", env=key,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = dict(query(Workspace(ws), "SELECT conversation_id, user_id FROM conversations"))
    assert stored == {"c-1": "u0000003", "c-2": "new-customer-77"}
    result = _cli(ws, "ask", "--conversation", "c-404", "where is my order")
    assert result.returncode == 2 and "Unknown conversation 'c-404'" in result.stderr
    result = _cli(ws, "ask", "--conversation", "c-1", "   ")
    assert result.returncode == 2 and "Empty message" in result.stderr
    result = _cli(ws, "ask", "--conversation", "c-1", "I want to talk to a human", "--json")
    assert result.json()["handoff"] is True
    result = _cli(
        ws,
        "reply",
        "--conversation",
        "c-1",
        "--agent",
        "alice",
        "--intent",
        "greeting",
        "Hi, Alice here",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    result = _cli(ws, "conversations", "--status", "handoff", "--json")
    assert [c["conversation_id"] for c in result.json()] == ["c-1"]
    result = _cli(ws, "export", "--out", str(tmp_path / "pairs.csv"), "--json")
    assert result.json()["labelled"] == 1
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert (
        pairs.loc[0, "text"] == "I want to talk to a human" and pairs.loc[0, "intent"] == "greeting"
    )


def test_clinc_layout_trains_without_its_test_splits(tmp_path: Path) -> None:
    """CLINC150's ``data_full.json`` (an object of splits of ``[text, intent]`` pairs) is read
    as is; training leaves its test splits out and says so, and classify carries the split
    so the test rows can be scored."""
    import json

    frame = labelled(with_oos=True, languages=("en",))
    in_scope, oos = frame[frame["intent"] != "oos"], frame[frame["intent"] == "oos"]
    test_rows = in_scope.iloc[::4]
    document = {
        "train": in_scope.drop(test_rows.index).values.tolist(),
        "oos_train": oos.iloc[:6].values.tolist(),
        "test": test_rows.values.tolist(),
        "oos_test": oos.iloc[6:].values.tolist(),
    }
    data = tmp_path / "data_full.json"
    data.write_text(json.dumps(document))
    ws = tmp_path / "ws"
    result = _cli(
        ws, "train", "--data", str(data), "--oos-label", "oos", "--encoder", "none", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["held_out_splits"] == ["oos_test", "test"]
    assert report["rows"] == len(document["train"]) + len(document["oos_train"])
    out = tmp_path / "preds.csv"
    result = _cli(ws, "classify", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    preds = pd.read_csv(out)
    assert len(preds) == len(frame) and set(preds["split"]) == set(document)


def test_semicolon_file_is_read_by_its_header(tmp_path: Path) -> None:
    """HWU64 ships ';'-separated: the delimiter comes from the header line."""
    frame = labelled(languages=("en",)).rename(columns={"text": "answer"})
    frame.insert(0, "userid", range(len(frame)))
    data = tmp_path / "hwu64_train.csv"
    frame.to_csv(data, sep=";", index=False)
    result = _cli(
        tmp_path / "ws",
        "train",
        "--data",
        str(data),
        "--text-col",
        "answer",
        "--encoder",
        "none",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert result.json()["rows"] == len(frame)
