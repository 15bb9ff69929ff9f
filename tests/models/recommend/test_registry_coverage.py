"""Every registered recommender has a contract test, and the CLI offers exactly the registry."""

from __future__ import annotations

from shopmind.models.recommend.registry import MODELS
from shopmind.testing.recommender_contract import RecommenderContract
from tests.conftest import run_cli
from tests.models.recommend import test_contract


def test_every_registered_model_has_a_contract_test() -> None:
    tested = {
        cls.model_name
        for cls in vars(test_contract).values()
        if isinstance(cls, type)
        and issubclass(cls, RecommenderContract)
        and cls.__name__[:4] == "Test"
    }
    missing = set(MODELS) - tested
    assert not missing, f"registered recommenders without a contract test: {sorted(missing)}"


def test_model_option_help_lists_the_registry() -> None:
    result = run_cli("recommend", "train", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for name in MODELS:
        assert name in text
