"""Tabular mode: the train/score contract, column kinds, honest sharing features, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopmind.features.risk import RiskDataError, TabularRiskFeatures
from shopmind.models.risk import risk_metrics
from shopmind.risk.tabular import score_tabular, train_tabular
from tests.conftest import run_cli
from tests.risk.conftest import fraud_like


def test_column_kinds(fraud_frame: pd.DataFrame) -> None:
    features = TabularRiskFeatures(label="class").fit(fraud_frame)
    kinds = {p.name: p.kind for p in features.plans_}
    assert kinds["signup_time"] == kinds["purchase_time"] == "timestamp"
    assert kinds["device_id"] == "id" and kinds["user_id"] == "id"
    assert kinds["source"] == "category" and kinds["purchase_value"] == "numeric"
    assert features.decision_time_ == "purchase_time"
    x = features.transform(fraud_frame, training=True)
    assert "signup_time->purchase_time:seconds" in x.columns
    assert {"purchase_time:hour", "purchase_time:weekday", "device_id:rows"} <= set(x.columns)
    assert not any(c.startswith("device_id=") for c in x.columns)  # no one-hot of ids
    assert x["signup_time->purchase_time:seconds"].min() >= 0


def test_sharing_counts_use_training_and_scoring_rows_only() -> None:
    train = pd.DataFrame(
        {
            "device_id": [f"d{i}" for i in range(300)] + ["x"] * 3,
            "v": range(303),
            "label": [0] * 300 + [1] * 3,
        }
    )
    features = TabularRiskFeatures(label="label").fit(train)
    x = features.transform(train, training=True)
    assert x["device_id:rows"].tolist()[-3:] == [3, 3, 3]
    # known-bad among the *other* rows: the row's own label never counts
    assert x["device_id:known_bad"].tolist()[-1] == 2
    score = pd.DataFrame({"device_id": ["x", "new", "new"], "v": [1, 2, 3]})
    s = features.transform(score)
    assert s["device_id:rows"].tolist() == [4, 2, 2]  # training rows + the file's own rows
    assert s["device_id:known_bad"].tolist()[0] == 3
    assert s["device_id:known_bad"].tolist()[1] == 0  # no labelled row shares it


def test_validation_labels_stay_out_of_known_bad_counts() -> None:
    """A validation row is scored as a new row is: the labels of the validation rows (its
    own and its partners') are not counted as known bad, those of the fit rows are."""
    train = pd.DataFrame(
        {
            "device_id": [f"d{i}" for i in range(300)] + ["x"] * 4,
            "v": range(304),
            "label": [0] * 300 + [1] * 4,
        }
    )
    features = TabularRiskFeatures(label="label").fit(train)
    hidden = np.array([302, 303])  # two of the four rows on device x are validation rows
    x = features.transform(train, training=True, hidden=hidden)
    assert x["device_id:known_bad"].tolist()[-4:] == [1, 1, 2, 2]


def test_validation_rows_follow_the_mode_fit_will_use() -> None:
    """``auto`` with fewer than 10 bad rows trains unsupervised: nothing is validated, so no
    label is hidden; with enough bad rows the hidden rows are the validation rows."""
    from shopmind.models.risk import RiskConfig, RiskModel

    few = np.zeros(100, dtype=int)
    few[:5] = 1
    assert RiskModel(RiskConfig()).validation_rows(few, None) is None
    many = np.zeros(1000, dtype=int)
    many[::20] = 1
    rows = RiskModel(RiskConfig()).validation_rows(many, None)
    assert rows is not None and 0 < len(rows) < 1000 and many[rows].sum() > 0


def test_training_hides_the_validation_rows_it_measures_on() -> None:
    """Fraud rings: each card is all-bad or all-good, and the newest rows (the validation
    rows) belong to new rings. Counting every label, a validation row's partners give its
    label away (ROC-AUC 1.0); the validation labels hidden, the cards tell nothing about new
    rings, as on tomorrow's transactions (about 0.5)."""
    rng = np.random.default_rng(0)
    early = [(f"a{j}", int(j < 40)) for j in rng.permutation(np.repeat(np.arange(400), 4))]
    late = [(f"r{j}", int(j < 10)) for j in rng.permutation(np.repeat(np.arange(100), 4))]
    cards, labels = zip(*(early + late), strict=True)
    frame = pd.DataFrame(
        {
            "card_id": cards,
            "amount": rng.gamma(2.0, 30.0, 2000),
            "t": pd.date_range("2024-01-01", periods=2000, freq="h").astype(str),
            "label": labels,
        }
    )
    risk = train_tabular(frame, "label")
    validation = risk.model.report_["validation"]
    assert validation["split"].startswith("time-ordered") and validation["rows"] == 400
    assert validation["lightgbm"]["roc_auc"] < 0.7
    assert validation["calibrated"]["roc_auc"] < 0.7


def test_point_in_time_counts_only_look_back(fraud_frame: pd.DataFrame) -> None:
    features = TabularRiskFeatures(label="class").fit(fraud_frame)
    x = features.transform(fraud_frame, training=True)
    ring = fraud_frame["device_id"] == "RING00"
    before = x.loc[ring, "device_id:rows_before"].sort_values().to_numpy()
    assert before[0] == 0 and (np.diff(before) == 1).all()


def test_train_and_score_in_input_order(fraud_frame: pd.DataFrame) -> None:
    risk = train_tabular(fraud_frame.iloc[:2000], "class")
    test = fraud_frame.iloc[2000:].drop(columns="class").sample(frac=1.0, random_state=1)
    out = score_tabular(risk, test)
    assert list(out.columns[:3]) == ["row", "risk_score", "decision"]
    assert out["row"].tolist() == list(range(len(test)))
    assert out["risk_score"].between(0, 100).all()
    assert set(out["decision"]) <= {"allow", "review", "block"}
    y = fraud_frame.iloc[2000:].loc[test.index, "class"].to_numpy()
    assert risk_metrics(y, out["risk_score"].to_numpy())["roc_auc"] > 0.8
    assert all(isinstance(r, str) and r for r in out["reasons"])
    # one row scored alone gets the same score as inside the batch when it shares nothing
    alone = score_tabular(risk, test.iloc[[0]])
    assert alone["row"].tolist() == [0]


def test_anonymised_numeric_file_trains_and_scores(anonymised_frame: pd.DataFrame) -> None:
    risk = train_tabular(anonymised_frame.iloc[:2000], "Class")
    kinds = {p.name: p.kind for p in risk.features.plans_}
    # Time counts seconds through the file: when, not how risky (is_time_index)
    assert kinds["Time"] == "time_index" and kinds["V1"] == "numeric"
    out = score_tabular(risk, anonymised_frame.iloc[2000:])
    y = anonymised_frame["Class"].iloc[2000:].to_numpy()
    assert risk_metrics(y, out["risk_score"].to_numpy())["roc_auc"] > 0.85


def test_errors_are_clear(fraud_frame: pd.DataFrame) -> None:
    with pytest.raises(RiskDataError, match="one class"):
        train_tabular(fraud_frame.assign(**{"class": 0}), "class")
    with pytest.raises(RiskDataError, match="Label column 'fraud' is not in the file"):
        train_tabular(fraud_frame, "fraud")
    risk = train_tabular(fraud_frame, "class")
    with pytest.raises(RiskDataError, match=r"lacks column.*device_id"):
        score_tabular(risk, fraud_frame.drop(columns=["device_id"]))


@pytest.mark.slow
def test_cli_contract(tmp_path: Path) -> None:
    frame = fraud_like(1500)
    frame.iloc[:1000].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[1000:].drop(columns="class").to_csv(tmp_path / "test.csv", index=False)
    ws = str(tmp_path / "ws")
    trained = run_cli(
        "--workspace",
        ws,
        "risk",
        "train",
        "--data",
        str(tmp_path / "train.csv"),
        "--label",
        "class",
        "--id-col",
        "user_id",
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    scored = run_cli(
        "--workspace",
        ws,
        "risk",
        "score",
        "--data",
        str(tmp_path / "test.csv"),
        "--out",
        str(tmp_path / "scores.csv"),
    )
    assert scored.returncode == 0, scored.stderr
    out = pd.read_csv(tmp_path / "scores.csv")
    assert list(out.columns[:3]) == ["row", "risk_score", "decision"]
    assert out["row"].tolist() == list(range(500))
    # a scoring file without a training column: exit 2, one clear line, nothing written
    frame.iloc[1000:].drop(columns=["class", "browser"]).to_csv(tmp_path / "bad.csv", index=False)
    bad = run_cli(
        "--workspace",
        ws,
        "risk",
        "score",
        "--data",
        str(tmp_path / "bad.csv"),
        "--out",
        str(tmp_path / "bad_scores.csv"),
    )
    assert bad.returncode == 2 and "browser" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad_scores.csv").exists()
    frame.assign(**{"class": 1}).to_csv(tmp_path / "one.csv", index=False)
    one = run_cli(
        "--workspace", ws, "risk", "train", "--data", str(tmp_path / "one.csv"), "--label", "class"
    )
    assert one.returncode == 2 and "one class" in one.stderr


def test_rules_decide_at_scoring(fraud_frame: pd.DataFrame, tmp_path: Path) -> None:
    risk = train_tabular(fraud_frame.iloc[:2000], "class")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: opera\n    when: browser == 'Chrome' and score < 50\n    action: review\n"
        "  - name: burst\n    when: signup_time->purchase_time:seconds < 60\n    action: block\n"
        "otherwise: allow\n"
    )
    test = fraud_frame.iloc[2000:].drop(columns="class")
    out = score_tabular(risk, test, rules=rules)
    chrome = (test["browser"] == "Chrome").to_numpy() & (out["risk_score"] < 50).to_numpy()
    assert (out.loc[chrome, "decision"] == "review").all()
    assert (out.loc[chrome, "rule"] == "opera").all()
    assert set(out.loc[~chrome, "decision"]) <= {"allow", "block"}


def test_missing_categories_score_the_same_after_save_and_load(tmp_path: Path) -> None:
    """A category column missing in most rows (IEEE-CIS e-mail domains): a saved and loaded
    model scores rows exactly as the fitted one did, and calls missing common, not rare."""
    from shopmind.models.risk import RiskConfig
    from shopmind.risk.tabular import TabularRisk

    rng = np.random.default_rng(1)
    n = 2000
    domain = rng.choice(["gmail.com", "yahoo.com", "aol.com"], n).astype(object)
    domain[rng.random(n) < 0.7] = None
    frame = pd.DataFrame({"R_emaildomain": domain, "amount": rng.gamma(2.0, 30.0, n), "label": 0})
    frame.loc[:19, "label"] = 1
    risk = train_tabular(frame, "label", config=RiskConfig(mode="unsupervised"))
    before = score_tabular(risk, frame)
    loaded = TabularRisk.load(risk.save(tmp_path / "risk.pkl"))
    after = score_tabular(loaded, frame)
    np.testing.assert_allclose(after["risk_score"], before["risk_score"])
    flagged = (after["decision"] != "allow").mean()
    assert flagged < 0.15
    missing_rows = after[frame["R_emaildomain"].isna()]
    assert not missing_rows["reasons"].str.contains("R_emaildomain = missing is rare").any()


def _paysim(n: int, start_step: int, seed: int) -> pd.DataFrame:
    """PaySim's layout: ``step`` counts hours through the file; fraud empties the account."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(n) < 0.05
    amount = np.where(fraud, rng.uniform(2_000, 60_000, n), rng.lognormal(8, 1, n))
    # fraud empties the account, and so do many honest payments
    old = np.where(fraud | (rng.random(n) < 0.4), amount, amount + rng.lognormal(9, 1, n))
    return pd.DataFrame(
        {
            "step": np.sort(rng.integers(start_step, start_step + 50, n)),
            "type": rng.choice(["PAYMENT", "TRANSFER", "CASH_OUT"], n),
            "amount": amount.round(2),
            "oldbalanceOrg": old.round(2),
            "newbalanceOrig": (old - amount).round(2),
            "chargeback_amount": np.where(fraud, amount, 0.0).round(2),  # known after the fact
            "isFraud": fraud.astype(int),
        }
    )


def test_time_index_and_label_leaks_are_no_features() -> None:
    """``step`` rises through the file: as a feature every later (held-out) row looked
    unusual, and an unsupervised model sent three times too many to review. A column that
    ranks the label exactly (a chargeback amount) is known only after the fact."""
    train, later = _paysim(3000, 1, 0), _paysim(1500, 300, 1)
    risk = train_tabular(train, "isFraud", config=None)
    excluded = risk.model.report_["excluded_columns"]
    assert set(excluded) == {"step", "chargeback_amount"}
    assert "time index" in excluded["step"] and "ROC-AUC 1.000" in excluded["chargeback_amount"]
    assert not any(name.startswith(("step", "chargeback")) for name in risk.model.features_)
    # the same later rows, with step moved back into the training range, score the same
    scored = score_tabular(risk, later)
    shifted = score_tabular(risk, later.assign(step=later["step"] - 299))
    assert scored["risk_score"].tolist() == shifted["risk_score"].tolist()
    # a file to score has no chargeback yet (nor needs a time index)
    bare = score_tabular(risk, later.drop(columns=["chargeback_amount", "isFraud", "step"]))
    assert bare["risk_score"].tolist() == scored["risk_score"].tolist()
