"""Customer lifetime value with PyMC-Marketing: BG/NBD (or Pareto/NBD) for the number of
repeat purchases and Gamma-Gamma for the spend per purchase.

Fader, Hardie & Lee (2005) "Counting your customers the easy way"; Fader & Hardie (2013)
"The Gamma-Gamma model of monetary value". Transactions are summarised per customer
(frequency = repeat purchase days, recency and T in ``time_unit``; monetary value = mean of
repeat purchases) with ``rfm_train_test_split``. Weeks are days / 7, as in the published
CDNOW fits. ``method='map'`` with flat priors is the maximum-likelihood fit; ``'mcmc'``
samples the posterior (NUTS) and gives credible intervals.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from shopmind.errors import NotFittedError, ShopmindError
from shopmind.models.base import Model, ModelConfig
from shopmind.store.encryption import opened, read_file, seal_file

TIME_SCALER = {"D": 1.0, "W": 7.0}

# ArviZ (imported by PyMC-Marketing) announces its refactor once a day per machine as a
# FutureWarning at import: news for its developers, noise in a shop's demo and reports
warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)


#: Customers with a repeat purchase day below which BG/NBD is refused (parameters
#: fitted on fewer are noise: alpha 1.2e6 on Fraud_Data, where no one buys twice).
MIN_REPEAT_BUYERS = 10


class CLVConfig(ModelConfig):
    """time_unit: 'D' or 'W'; calibration_end / holdout_end: ISO dates (holdout optional);
    method 'map' (maximum likelihood with flat priors) or 'mcmc' (NUTS draws x chains)."""

    time_unit: Literal["D", "W"] = "W"
    calibration_end: str | None = None
    holdout_end: str | None = None
    transaction_model: Literal["bgnbd", "pareto"] = "bgnbd"
    method: Literal["map", "mcmc"] = "map"
    draws: int = Field(500, ge=10)
    chains: int = Field(2, ge=1)

    @field_validator("calibration_end", "holdout_end")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        """Only ISO dates: ``01/09/1997`` is 9 January in one country and 1 September in
        another, so it is refused rather than guessed."""
        if value is None:
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?", value.strip()):
            raise ShopmindError(
                f"'{value}' is not an ISO date.",
                hint="Write dates as YYYY-MM-DD, e.g. --calibration-end 1997-09-30.",
            )
        return value.strip()


class CLVModel(Model):
    """BG/NBD (or Pareto/NBD) + Gamma-Gamma on a transactions frame
    ``(customer_id, date, amount)``. Saved as a folder (NetCDF traces + parquet + JSON)."""

    name = "clv"
    config_class = CLVConfig
    train_command = "shopmind clv fit"
    config: CLVConfig

    # -- fitting -----------------------------------------------------------------------
    def fit(self, transactions: pd.DataFrame) -> CLVModel:
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel
        from pymc_marketing.clv.utils import rfm_summary, rfm_train_test_split

        tx = _clean(transactions)
        cfg = self.config
        scaler = TIME_SCALER[cfg.time_unit]
        end = pd.Timestamp(cfg.calibration_end) if cfg.calibration_end else tx["date"].max()
        if (tx["date"] <= end).sum() == 0:
            raise ShopmindError(
                f"No transactions before the calibration end {end.date()}.",
                hint="Choose a later --calibration-end.",
            )
        if cfg.holdout_end:
            last_day = tx["date"].max()
            if not cfg.calibration_end:
                raise ShopmindError(
                    "--holdout-end needs --calibration-end: the holdout runs from the day "
                    "after the calibration end to the holdout end.",
                    hint=f"Add --calibration-end before {cfg.holdout_end} (the data end on "
                    f"{last_day.date()}).",
                )
            if pd.Timestamp(cfg.holdout_end) <= end:
                raise ShopmindError(
                    f"--holdout-end {cfg.holdout_end} must be after --calibration-end "
                    f"{cfg.calibration_end}.",
                    hint="The calibration period comes first, then the holdout: swap the two "
                    "dates, or choose a later --holdout-end.",
                )

            holdout = (tx["date"] > end) & (tx["date"] <= pd.Timestamp(cfg.holdout_end))
            if not holdout.any():
                first, last = tx["date"].min().date(), tx["date"].max().date()
                raise ShopmindError(
                    f"No transactions after the calibration end {end.date()}: the holdout "
                    f"period would be empty (the data run from {first} to {last}).",
                    hint="Choose an earlier --calibration-end, or leave out --holdout-end.",
                )
            stop = pd.Timestamp(cfg.holdout_end)
            slack = max(pd.Timedelta(days=7), (stop - end) / 10)
            if stop > last_day + slack:
                # days without data would be scored as days without purchases
                raise ShopmindError(
                    f"--holdout-end {cfg.holdout_end} is long after the last transaction "
                    f"({last_day.date()}): the days without data would count as days "
                    "without purchases, and the holdout error would be wrong.",
                    hint=f"Use --holdout-end {last_day.date()} (or a few days after).",
                )
            summary = rfm_train_test_split(
                tx,
                "customer_id",
                "date",
                train_period_end=end,
                test_period_end=pd.Timestamp(cfg.holdout_end),
                time_unit="D",
                time_scaler=scaler,
                monetary_value_col="amount",
            )
        else:
            summary = rfm_summary(
                tx[tx["date"] <= end],
                "customer_id",
                "date",
                monetary_value_col="amount",
                observation_period_end=end,
                time_unit="D",
                time_scaler=scaler,
            )
        repeaters = int((summary["frequency"] > 0).sum())
        if repeaters < MIN_REPEAT_BUYERS:  # Fraud_Data: one purchase each, nothing to fit
            raise ShopmindError(
                f"Only {repeaters:,} of {len(summary):,} customers bought again (on a later day) "
                f"before {end.date()}: BG/NBD learns repeat buying and needs at least "
                f"{MIN_REPEAT_BUYERS}.",
                hint="CLV does not apply to a log where customers buy once; use RFM or "
                "propensity instead, or a later --calibration-end.",
            )
        flat = Prior("HalfFlat")
        fit_kwargs: dict[str, Any] = {"method": cfg.method, "progressbar": False}
        if cfg.method == "mcmc":
            fit_kwargs.update(draws=cfg.draws, chains=cfg.chains, random_seed=cfg.seed)
        data = summary[["customer_id", "frequency", "recency", "T"]]
        if cfg.transaction_model == "pareto":
            tm: Any = ParetoNBDModel(
                data=data, model_config={"r": flat, "alpha": flat, "s": flat, "beta": flat}
            )
        else:
            tm = BetaGeoModel(
                data=data, model_config={"r": flat, "alpha": flat, "a": flat, "b": flat}
            )
        tm.fit(**fit_kwargs)
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        gg = None
        if len(repeat) >= 10:
            gg = GammaGammaModel(
                data=repeat[["customer_id", "frequency", "monetary_value"]],
                model_config={"p": flat, "q": flat, "v": flat},
            )
            gg.fit(**fit_kwargs)
        self.summary_ = summary
        self.transaction_model_ = tm
        self.spend_model_ = gg
        self.observation_end_ = tx["date"].max()
        self.transactions_ = tx
        self.params_ = {
            "bgnbd" if cfg.transaction_model == "bgnbd" else "pareto_nbd": _params(tm),
            "gamma_gamma": _params(gg) if gg is not None else None,
        }
        self.holdout_ = self._holdout() if cfg.holdout_end else None
        return self

    def _holdout(self) -> dict[str, Any]:
        s = self.summary_
        data = s[["customer_id", "frequency", "recency", "T"]]
        predicted = _point(
            self.transaction_model_.expected_purchases(data=data, future_t=s["test_T"].to_numpy())
        )
        actual = s["test_frequency"].to_numpy(dtype=float)
        return {
            "customers": len(s),
            "holdout_periods": float(s["test_T"].iloc[0]),
            "predicted_repeat_purchases": round(float(predicted.sum()), 3),
            "actual_repeat_purchases": round(float(actual.sum()), 3),
            "aggregate_relative_error": round(
                float((predicted.sum() - actual.sum()) / max(actual.sum(), 1e-9)), 6
            ),
            "per_customer_mae": round(float(np.abs(predicted - actual).mean()), 6),
            "per_customer_rmse": round(float(np.sqrt(((predicted - actual) ** 2).mean())), 6),
        }

    # -- prediction --------------------------------------------------------------------
    def predict(self, horizon_months: float = 12.0, discount_rate: float = 0.0) -> pd.DataFrame:
        """Per customer: P(alive), expected purchases and spend, CLV with a 94% interval."""
        from pymc_marketing.clv.utils import rfm_summary

        self.check_fitted()
        tx = self.transactions_
        scaler = TIME_SCALER[self.config.time_unit]
        summary = rfm_summary(
            tx,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end=self.observation_end_,
            time_unit="D",
            time_scaler=scaler,
        )
        data = summary[["customer_id", "frequency", "recency", "T"]]
        periods = horizon_months * 30.4375 / scaler
        out = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
        out["probability_alive"] = _point(
            self.transaction_model_.expected_probability_alive(data=data)
        )
        out["expected_purchases"] = _point(
            self.transaction_model_.expected_purchases(data=data, future_t=periods)
        )
        if self.spend_model_ is not None:
            spend_data = summary[["customer_id", "frequency", "monetary_value"]]
            out["expected_spend"] = _point(
                self.spend_model_.expected_customer_spend(data=spend_data)
            )
            clv = self.spend_model_.expected_customer_lifetime_value(
                transaction_model=self.transaction_model_,
                data=summary[["customer_id", "frequency", "recency", "T", "monetary_value"]],
                future_t=horizon_months,  # type: ignore[arg-type]  # months may be fractional
                discount_rate=discount_rate,
                time_unit=self.config.time_unit,
            )
            draws = np.asarray(clv).reshape(-1, len(out))
            out["clv"] = draws.mean(axis=0)
            # A MAP fit has one draw: its bounds would equal the estimate and suggest a
            # certainty the fit does not have, so they stay empty (NaN) until --posterior.
            sampled = draws.shape[0] > 1
            out["clv_lower"] = np.quantile(draws, 0.03, axis=0) if sampled else np.nan
            out["clv_upper"] = np.quantile(draws, 0.97, axis=0) if sampled else np.nan
        return out

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        self.check_fitted()
        path.mkdir(parents=True, exist_ok=True)
        self.transaction_model_.save(str(path / "transaction_model.nc"))
        if self.spend_model_ is not None:
            self.spend_model_.save(str(path / "spend_model.nc"))
        self.transactions_.to_parquet(path / "transactions.parquet", index=False)
        self.summary_.to_parquet(path / "summary.parquet", index=False)
        meta = {
            "config": self.config.model_dump(),
            "params": self.params_,
            "holdout": self.holdout_,
            "observation_end": self.observation_end_.isoformat(),
        }
        (path / "clv.json").write_text(json.dumps(meta, indent=2))
        for name in ("transaction_model.nc", "spend_model.nc", "transactions.parquet"):
            if (path / name).exists():  # sealed (AES-GCM) in an encrypted workspace
                seal_file(path / name)
        seal_file(path / "summary.parquet")
        return path

    @classmethod
    def load(cls, path: Path) -> Self:
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel

        meta_file = path / "clv.json"
        if not meta_file.exists():
            raise NotFittedError(
                f"No CLV model in {path}.", hint="Fit one first: `shopmind clv fit`."
            )
        meta = json.loads(meta_file.read_text())
        model = cls(CLVConfig(**meta["config"]))
        loader = ParetoNBDModel if model.config.transaction_model == "pareto" else BetaGeoModel
        with opened(path / "transaction_model.nc") as plain:  # decrypted when sealed
            model.transaction_model_ = _rebuilt(loader.load(str(plain)))
        spend = path / "spend_model.nc"
        with opened(spend) as plain:
            model.spend_model_ = (
                _rebuilt(GammaGammaModel.load(str(plain))) if spend.exists() else None
            )
        model.transactions_ = pd.read_parquet(io.BytesIO(read_file(path / "transactions.parquet")))
        model.summary_ = pd.read_parquet(io.BytesIO(read_file(path / "summary.parquet")))
        model.params_ = meta["params"]
        model.holdout_ = meta["holdout"]
        model.observation_end_ = pd.Timestamp(meta["observation_end"])
        return model


def _rebuilt(model: Any) -> Any:
    """A loaded PyMC-Marketing model with its PyMC graph rebuilt (needed for predictions)."""
    if not hasattr(model, "model"):
        model.build_model()
    return model


def _clean(transactions: pd.DataFrame) -> pd.DataFrame:
    missing = {"customer_id", "date", "amount"} - set(transactions.columns)
    if missing:
        raise ShopmindError(f"Transactions lack columns {sorted(missing)}.")
    tx = transactions.dropna(subset=["customer_id", "date"]).copy()
    tx["date"] = pd.to_datetime(tx["date"], utc=True).dt.tz_localize(None).dt.normalize()
    tx["amount"] = tx["amount"].astype(float).fillna(0.0)
    if tx["customer_id"].nunique() < 10:
        raise ShopmindError(
            "CLV needs transactions of at least 10 customers.",
            hint="Ingest orders or purchase events with user ids.",
        )
    return tx[["customer_id", "date", "amount"]]


def _params(model: Any) -> dict[str, float]:
    """Posterior means (the MAP values for a MAP fit) of the model's parameters."""
    summary = model.fit_summary()
    posterior = model.idata.posterior
    return {str(k): round(float(posterior[str(k)].mean()), 6) for k in summary.index}


def _point(values: Any) -> np.ndarray:
    """Posterior mean over (chain, draw) of a per-customer DataArray."""
    array = np.asarray(values)
    return array.reshape(-1, array.shape[-1]).mean(axis=0)
