"""Contract tests every model family inherits (cf. sklearn's ``check_estimator``).

Subclass :class:`ModelContract` in a test module and provide three hooks::

    class TestMyModel(ModelContract):
        def make_model(self, **overrides): return MyModel(**overrides)
        def fit_model(self, model): return model.fit(small_training_data)
        def predict(self, model): return model.predict(small_test_data)  # numpy or pandas

The mixin checks: typed config refusing unknown names, a constructor that learns nothing,
``fit -> self`` with learned state ending in ``_``, ``NotFittedError`` before fit, identical
predictions after ``save``/``load``, and determinism under the same seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shopmind.errors import ModelConfigError, NotFittedError
from shopmind.models.base import Model


def as_array(value: Any) -> np.ndarray:
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.to_numpy()
    return np.asarray(value)


def assert_same(left: Any, right: Any) -> None:
    a, b = as_array(left), as_array(right)
    assert a.shape == b.shape
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    else:
        assert (a == b).all()


class ModelContract:
    """Mixin of contract checks; see the module docstring for the hooks."""

    def make_model(self, **overrides: Any) -> Model:
        raise NotImplementedError

    def fit_model(self, model: Model) -> Model:
        raise NotImplementedError

    def predict(self, model: Model) -> Any:
        raise NotImplementedError

    def test_config_is_typed(self) -> None:
        with pytest.raises(ModelConfigError, match="no_such_hyperparameter"):
            self.make_model(no_such_hyperparameter=1)

    def test_constructor_learns_nothing(self) -> None:
        model = self.make_model()
        assert isinstance(model, Model)
        assert not model.is_fitted()

    def test_unfitted_use_says_how_to_train(self) -> None:
        with pytest.raises(NotFittedError, match="Train"):
            self.predict(self.make_model())

    def test_fit_returns_self_with_learned_state(self) -> None:
        model = self.make_model()
        assert self.fit_model(model) is model
        state = model.learned_state()
        assert state and all(name.endswith("_") for name in state)

    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        model = self.fit_model(self.make_model())
        path = model.save(tmp_path / "model.pkl")
        loaded = type(model).load(path)
        assert loaded.config == model.config
        assert_same(self.predict(model), self.predict(loaded))

    def test_load_refuses_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(NotFittedError):
            type(self.make_model()).load(tmp_path / "absent.pkl")

    def test_deterministic_under_seed(self) -> None:
        first = self.predict(self.fit_model(self.make_model(seed=7)))
        second = self.predict(self.fit_model(self.make_model(seed=7)))
        assert_same(first, second)
