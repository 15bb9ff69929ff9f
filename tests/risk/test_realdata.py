"""Fraud_Data sample through tabular mode (no hand-made features): the issue's bar."""

from __future__ import annotations

import pandas as pd
import pytest

from shopmind.models.risk import risk_metrics
from shopmind.risk.tabular import score_tabular, train_tabular
from tests.conftest import data_file


@pytest.mark.realdata
@pytest.mark.slow
def test_fraud_data_bar() -> None:
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(data_file("fraud_ecommerce/Fraud_Data_sample.csv"))
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["class"])
    risk = train_tabular(train, "class")
    scores = score_tabular(risk, test.drop(columns="class"), reasons=0)
    metrics = risk_metrics(test["class"].to_numpy(), scores["risk_score"].to_numpy())
    assert metrics["roc_auc"] >= 0.80
    assert metrics["average_precision"] >= 0.66
    assert metrics["recall_at_1pct_fpr"] >= 0.5
