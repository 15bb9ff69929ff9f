"""Saved recommenders hold learned state, not the training histories; a model loaded for a
workspace answers from the workspace's histories exactly as it did before saving."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from shopmind.errors import ShopmindError
from shopmind.features.sequences import load_sequences
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.registry import MODELS, model_class
from shopmind.models.recommend.workflow import load_model, model_path, read_sequences
from shopmind.store import Workspace
from shopmind.store.encryption import write_file
from shopmind.testing.recommender_contract import RecommenderContract
from tests.conftest import ingest_lines
from tests.models.recommend import test_contract

#: Families that train for minutes on the simulated shop (networks, a sentence encoder).
SLOW = {"sasrec", "gru4rec", "content"}


def _contract_config(name: str) -> dict:
    """The small settings the contract tests use for ``name`` (defaults otherwise)."""
    for cls in vars(test_contract).values():
        contract = isinstance(cls, type) and issubclass(cls, RecommenderContract)
        if contract and getattr(cls, "model_name", None) == name:
            return dict(cls.config)
    return {}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in MODELS],
)
def test_loaded_model_answers_as_before_without_saving_histories(
    name: str, sim_ws: Workspace, tmp_path: Path
) -> None:
    data = read_sequences(sim_ws)
    config = _contract_config(name)
    if "epochs" in model_class(name).config_class.model_fields:
        config["epochs"] = 2  # the same answers after loading, not a good model, is checked
    model = model_class(name)(**config).fit(data)
    copy = Workspace(tmp_path / "ws")  # the models folder of a workspace we may write to
    path = model.save(model_path(copy, name))
    raw = path.read_bytes()
    for user in data.keys[:: max(1, data.n_keys // 50)]:
        assert str(user).encode() not in raw, f"user id {user} saved in the model file"
    assert b"shopmind.features.sequences" not in raw  # no Sequences anywhere in it

    loaded = Recommender.load(path).attach(lambda: read_sequences(sim_ws))
    users = [str(u) for u in data.keys[:400]]
    assert loaded.recommend(users, k=10) == model.recommend(users, k=10)
    assert not loaded.data_changed()
    item = str(data.item_ids[int(np.argmax(loaded.popularity_))])
    assert loaded.similar_items([item], k=5) == model.similar_items([item], k=5)


def test_load_model_reads_the_histories_only_when_asked(
    sim_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopmind.models.recommend import workflow

    ws = Workspace(tmp_path / "ws")
    shutil.copytree(sim_ws.root, ws.root)  # the session's workspace stays untouched
    data = read_sequences(ws)
    model_class("markov")().fit(data).save(model_path(ws, "markov"))
    reads: list[int] = []
    real = workflow.read_sequences

    def counting(workspace: Workspace):  # type: ignore[no-untyped-def]
        reads.append(1)
        return real(workspace)

    monkeypatch.setattr(workflow, "read_sequences", counting)
    loaded = load_model(ws, "markov")
    item = str(data.item_ids[0])
    loaded.similar_items([item], k=3)
    loaded.recommend_next([[item]], k=3)
    assert reads == []  # item-only answers need no histories
    user = str(data.keys[0])
    assert loaded.recommend([user], k=3)[0]
    loaded.recommend([str(data.keys[1])], k=3)
    assert reads == [1]  # read once, on first use
    with ws.connect(read_only=True) as con:  # a caller holding a connection passes it
        eager = load_model(ws, "markov", con=con)
        assert eager.recommend([user], k=3) == loaded.recommend([user], k=3)
    assert reads == [1]


def test_files_of_the_old_layout_say_retrain(tmp_path: Path) -> None:
    path = tmp_path / "markov.pkl"
    old = {"name": "markov", "config": {}, "state": {"n_items_": 3}}  # no format: before 2
    write_file(path, pickle.dumps(old))
    with pytest.raises(ShopmindError, match="not a recommender model of this") as caught:
        Recommender.load(path)
    assert "shopmind recommend train" in str(caught.value.hint)


def test_events_of_the_same_second_come_back_in_one_order(tmp_path: Path) -> None:
    """Histories are re-read when a model is loaded: ties in time keep the event-id order."""
    ws = tmp_path / "ws"
    ids = list(range(120))[::-1]  # file order is the reverse of the event ids
    lines = ["event_id,user_id,item_id,event_type,timestamp"]
    lines += [f"e{i:03d},tie,i{i % 37:02d},view,2025-01-01T10:00:00+00:00" for i in ids]
    lines += [f"x{i:03d},other,i{i % 5:02d},view,2025-01-02T10:00:{i:02d}+00:00" for i in range(6)]
    ingest_lines(ws, tmp_path / "events.csv", lines, "generic")
    with Workspace(ws).connect(read_only=True) as con:
        first = load_sequences(con, collapse_repeats=False)
        again = load_sequences(con, collapse_repeats=False)
    row = first.key_index()["tie"]
    got = [str(first.item_ids[i]) for i in first.seq(row)]
    assert got == [f"i{i % 37:02d}" for i in range(120)]
    np.testing.assert_array_equal(first.items, again.items)


@pytest.mark.parametrize("name", ["als", "bpr", "sknn"])
def test_a_fitted_model_attached_to_its_own_training_data_answers_the_same(
    name: str, sim_ws: Workspace
) -> None:
    """Per-user learned state (factors, a session's own row) stays lined up when a model
    that was fitted here, not loaded, is attached to histories."""
    data = read_sequences(sim_ws)
    model = model_class(name)(**_contract_config(name)).fit(data)
    users = [str(u) for u in data.keys[:200]]
    before = model.recommend(users, k=5)
    assert model.attach(data).recommend(users, k=5) == before
    assert not model.data_changed()
