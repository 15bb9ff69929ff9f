"""The one model contract every model family follows (scikit-learn / LensKit style).

* Hyperparameters live in a typed, frozen pydantic config (``config_class``); unknown names
  are refused. The constructor stores the config and learns nothing.
* ``fit(...) -> self`` learns state whose attribute names end in ``_``.
* Using a model before ``fit`` raises :class:`~shopmind.errors.NotFittedError` with the command
  that trains it (``train_command``).
* ``save(path)`` / ``load(path)`` round-trip the config and the learned state (our own pickle
  files inside the workspace: load only files this shopmind wrote).

Recommenders (``shopmind.models.recommend.base.Recommender``) follow the same rules with a
richer interface; :mod:`shopmind.testing.model_contract` is the shared contract test.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from shopmind.errors import ModelConfigError, NotFittedError, ShopmindError
from shopmind.store.encryption import read_file, write_file

#: Bumped when the saved layout changes; older files are refused with a hint to retrain.
SAVE_FORMAT = 1


class ModelConfig(BaseModel):
    """Hyperparameters common to every model (subclass it per model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: int = 0


class Model:
    """Base class. Subclasses set ``name``, ``config_class`` and ``train_command`` and
    implement ``fit`` (returning ``self``) plus their own prediction methods, each starting
    with ``self.check_fitted()``."""

    name: ClassVar[str] = "model"
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    #: The command that trains this model, shown when it is used unfitted.
    train_command: ClassVar[str] = "shopmind --help"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        base = config.model_dump() if config is not None else {}
        try:
            self.config = self.config_class.model_validate({**base, **overrides})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ModelConfigError(
                f"Invalid {self.name} settings: {problems}.",
                hint=f"Allowed settings: {', '.join(self.config_class.model_fields)}.",
            ) from None

    # -- state --------------------------------------------------------------------------
    def learned_state(self) -> dict[str, Any]:
        """Attributes learned by ``fit`` (names ending in ``_``)."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def is_fitted(self) -> bool:
        return bool(self.learned_state())

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(
                f"The {self.name} model is not trained.",
                hint=f"Train it: `{self.train_command}`.",
            )

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        """Write config and learned state to ``path`` (parents created)."""
        self.check_fitted()
        payload = {
            "format": SAVE_FORMAT,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.config.model_dump(),
            "state": self.learned_state(),
        }
        return write_pickle(Path(path), payload)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model saved by :meth:`save`; refuses another class or format."""
        path = Path(path)
        payload = read_pickle(path, SAVE_FORMAT, cls.name, cls.train_command)
        expected = f"{cls.__module__}.{cls.__qualname__}"
        if payload.get("class") != expected:
            raise ShopmindError(
                f"{path} holds a {payload.get('class')} model, not {expected}.",
                hint="Load it with its own class, or retrain.",
            )
        return cls.from_state(payload["config"], payload["state"])

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, Any]) -> Self:
        """A model from a saved config and learned state (what :meth:`save` writes; wrappers
        that save a model inside their own file use it with ``learned_state()``)."""
        model = cls(cls.config_class.model_validate(config))
        for key, value in state.items():
            setattr(model, key, value)
        return model


def write_pickle(path: Path, payload: dict[str, Any]) -> Path:
    """Pickle ``payload`` to ``path`` atomically (a temporary file, then a rename)."""
    # sealed (AES-GCM) when the path lies in an encrypted workspace
    return write_file(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: Path, save_format: object, what: str, train_command: str) -> dict[str, Any]:
    """A payload written by :func:`write_pickle` whose ``format`` is ``save_format``; a
    missing file is :class:`NotFittedError`, another format a :class:`ShopmindError`."""
    if not path.exists():
        raise NotFittedError(f"No {what} model at {path}.", hint=f"Train one: `{train_command}`.")
    payload = pickle.loads(read_file(path))
    if not isinstance(payload, dict) or payload.get("format") != save_format:
        raise ShopmindError(
            f"{path} is not a {what} model of this shopmind version.",
            hint=f"Retrain it: `{train_command}`.",
        )
    return payload
