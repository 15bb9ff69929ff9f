"""Neural sequential recommenders in PyTorch: SASRec (self-attention, Kang & McAuley 2018)
and GRU4Rec (recurrent, Hidasi et al. 2016).

Both read the last ``max_len`` items and predict the next one at every position. The loss is
full cross-entropy over the catalogue (Klenitskiy & Vasilev 2023: better than the original
binary loss) or, for big catalogues where the full softmax costs most of an epoch, a sampled
softmax over ``negatives`` items shared by a batch, drawn in proportion to their training
frequency and corrected by the log of their sampling probability (Bengio & Senecal 2008;
Yi et al. 2019), so that it estimates the full softmax instead of over-punishing rare items.
Item embeddings are tied between input and output. With validation cases, NDCG@10 is
measured every ``eval_every`` epochs and training stops after ``patience`` checks without
improvement, restoring the best weights (``best_epoch_`` is reused when refitting).
Runs on CPU or CUDA (``device``). Saved: the weights (``weights_``, the network is rebuilt
from them), no per-user state.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Recommender, RecommenderConfig


class SequentialConfig(RecommenderConfig):
    max_len: int = Field(default=50, ge=2)
    hidden: int = Field(default=64, ge=4)
    layers: int = Field(default=2, ge=1)
    heads: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.5, ge=0, lt=1)
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    loss: Literal["ce", "sampled"] = "ce"
    negatives: int = Field(default=256, ge=1)
    eval_every: int = Field(default=2, ge=1)
    patience: int = Field(default=5, ge=0, description="checks without gain before stopping")
    max_minutes: float | None = Field(default=None, gt=0, description="wall-clock cap")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = Field(
        default="fp32", description="bf16: mixed precision (autocast) for the forward pass"
    )
    lr_scaling: Literal["none", "sqrt", "linear"] = Field(
        default="none",
        description="scale learning_rate by (batch_size / 128) ** 0.5 or ** 1 for big batches",
    )

    def effective_learning_rate(self) -> float:
        """``learning_rate`` scaled for ``batch_size`` against the reference batch of 128
        (square root: Krizhevsky 2014, "One weird trick"; linear: Goyal et al. 2017)."""
        power = {"none": 0.0, "sqrt": 0.5, "linear": 1.0}[self.lr_scaling]
        return float(self.learning_rate * (self.batch_size / REFERENCE_BATCH) ** power)


#: The batch size ``learning_rate`` is meant for (SASRec's reference setting).
REFERENCE_BATCH = 128


def _device(choice: str) -> str:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        from shopmind.errors import RecommendError

        raise RecommendError(
            "--device cuda asked for, but no CUDA GPU is visible.", hint="Use --device auto or cpu."
        )
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def left_padded(histories: Sequence[np.ndarray], max_len: int) -> np.ndarray:
    """Histories as ``(n, max_len)`` item indices + 1 (0 = padding), newest on the right."""
    out = np.zeros((len(histories), max_len), dtype=np.int64)
    for row, history in enumerate(histories):
        recent = np.asarray(history[-max_len:], dtype=np.int64) + 1
        if len(recent):
            out[row, -len(recent) :] = recent
    return out


def _sampling_distribution(targets: np.ndarray, n_items: int, device: str) -> tuple[Any, Any]:
    """Negatives for the sampled softmax: each item (index + 1; 0 is padding, never drawn)
    in proportion to its count among the training targets plus one, so that every item can
    be drawn; with the log of each item's expected draws per batch of one negative (the
    logQ correction, shifted by a constant that softmax ignores)."""
    import torch

    counts = np.bincount(targets.ravel(), minlength=n_items + 1).astype(np.float64) + 1.0
    counts[0] = 0.0
    probability = counts / counts.sum()
    log_expected = np.log(np.where(probability > 0, probability, 1.0))
    return (
        torch.from_numpy(probability.astype(np.float32)).to(device),
        torch.from_numpy(log_expected.astype(np.float32)).to(device),
    )


def _network(kind: str, n_items: int, c: SequentialConfig) -> Any:
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, c.hidden, padding_idx=0)
            self.dropout = nn.Dropout(c.dropout)
            self.norm = nn.LayerNorm(c.hidden)
            if kind == "sasrec":
                self.positions = nn.Embedding(c.max_len, c.hidden)
                layer = nn.TransformerEncoderLayer(
                    c.hidden,
                    c.heads,
                    c.hidden * 4,
                    c.dropout,
                    batch_first=True,
                    norm_first=True,
                    activation="gelu",
                )
                self.encoder = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
            else:
                self.gru = nn.GRU(
                    c.hidden,
                    c.hidden,
                    c.layers,
                    batch_first=True,
                    dropout=c.dropout if c.layers > 1 else 0.0,
                )
            nn.init.normal_(self.items.weight, std=0.02)

        def forward(self, seqs: torch.Tensor) -> torch.Tensor:
            x = self.items(seqs) * (c.hidden**0.5 if kind == "sasrec" else 1.0)
            if kind == "sasrec":
                x = x + self.positions.weight[None, -seqs.shape[1] :, :]
                x = self.dropout(x)
                length = seqs.shape[1]
                causal = torch.triu(
                    torch.ones(length, length, dtype=torch.bool, device=seqs.device), 1
                )
                x = self.encoder(x, mask=causal, src_key_padding_mask=seqs == 0)
            else:
                x, _ = self.gru(self.dropout(x))
            return self.norm(x)

    return Net()


class _Sequential(Recommender):
    kind: str
    config_class = SequentialConfig
    config: SequentialConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        import torch

        c = self.config
        torch.manual_seed(c.seed)
        rng = np.random.default_rng(c.seed)
        device = _device(c.device)
        log: Callable[[str], None] = self.progress or (lambda _m: None)
        net = _network(self.kind, data.n_items, c).to(device)
        optimiser = torch.optim.Adam(
            net.parameters(), lr=c.effective_learning_rate(), weight_decay=c.weight_decay
        )
        sequences = [s for s in data.histories() if len(s) >= 2]
        windows = left_padded(sequences, c.max_len + 1)
        # the padded windows live on the device: a batch is an index on it, with no per-batch
        # copy from the host and no synchronisation but the epoch's end
        inputs = torch.from_numpy(windows[:, :-1]).to(device)
        targets = torch.from_numpy(windows[:, 1:]).to(device)
        sampling = (
            _sampling_distribution(windows[:, 1:], data.n_items, device)
            if c.loss == "sampled"
            else None
        )
        autocast = torch.autocast(
            device_type="cuda" if device == "cuda" else "cpu",
            dtype=torch.bfloat16,
            enabled=c.precision == "bf16",
        )
        self.net_ = net
        self.device_ = device
        best, best_state, checks_without_gain = -1.0, None, 0
        self.best_epoch_ = c.epochs
        self.best_validation_: float | None = None
        self.epoch_times_: list[float] = []  # seconds of each epoch
        started = time.perf_counter()
        for epoch in range(1, c.epochs + 1):
            net.train()
            order = torch.from_numpy(rng.permutation(len(windows))).to(device)
            total = torch.zeros((), device=device)
            epoch_started = time.perf_counter()
            for start in range(0, len(order), c.batch_size):
                rows = order[start : start + c.batch_size]
                x, y = inputs[rows], targets[rows]
                with autocast:
                    hidden = net(x)[y > 0]
                    labels = y[y > 0]
                    loss = self._loss(net, hidden, labels, device, sampling)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.detach().float() * len(rows)
            mean_loss = float(total) / len(order)  # waits for the device's queued work
            self.epoch_times_.append(time.perf_counter() - epoch_started)
            message = f"{self.name} epoch {epoch}: loss {mean_loss:.4f}"
            # the cap stops before an epoch that would end past it; the last epoch trained
            # (capped or the final one) is always validated, so its training is not wasted
            elapsed = time.perf_counter() - started
            cap = 60 * c.max_minutes if c.max_minutes else float("inf")
            capped = elapsed + self.epoch_times_[-1] > cap
            last = capped or epoch == c.epochs
            if validation is not None and (epoch % c.eval_every == 0 or last):
                from shopmind.evaluation.ranking import evaluate_scores

                metric = evaluate_scores(
                    self.score, validation, data.n_items, (10,), exclude_seen=data.kind == "users"
                )["metrics"]["ndcg@10"]
                message += f", validation ndcg@10 {metric:.4f}"
                if metric > best:
                    best, checks_without_gain = metric, 0
                    best_state = copy.deepcopy(net.state_dict())
                    self.best_epoch_, self.best_validation_ = epoch, metric
                else:
                    checks_without_gain += 1
            log(message + f" ({self.epoch_times_[-1]:.1f}s)")
            if validation is not None and checks_without_gain > c.patience:
                break
            if capped and epoch < c.epochs:
                log(f"{self.name}: stopping, another epoch would pass {c.max_minutes} minutes")
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net_ = net.to("cpu").eval()
        self.device_ = "cpu"
        self.weights_ = {k: v.detach().numpy().copy() for k, v in self.net_.state_dict().items()}

    @property
    def net_(self) -> Any:
        """The network, rebuilt from ``weights_`` after loading (modules are not pickled)."""
        if getattr(self, "_net", None) is None:
            import torch

            net = _network(self.kind, self.n_items_, self.config)
            net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights_.items()})
            self._net = net.eval()
            self.device_ = "cpu"
        return self._net

    @net_.setter
    def net_(self, value: Any) -> None:
        self._net = value

    def _loss(
        self, net: Any, hidden: Any, labels: Any, device: str, sampling: tuple[Any, Any] | None
    ) -> Any:
        """Full softmax, or with ``sampling`` (:func:`_sampling_distribution`) the sampled
        one."""
        import torch
        from torch.nn import functional

        weights = net.items.weight
        if sampling is None:
            logits = hidden @ weights[1:].T
            return functional.cross_entropy(logits, labels - 1)
        probability, log_expected = sampling
        negatives = torch.multinomial(probability, self.config.negatives, replacement=True)
        # logQ correction: a candidate's logit minus the log of how often it is drawn
        positive = (hidden * weights[labels]).sum(-1, keepdim=True) - log_expected[labels, None]
        negative = hidden @ weights[negatives].T - log_expected[negatives][None, :]
        negative = negative.masked_fill(negatives[None, :] == labels[:, None], -1e9)
        logits = torch.cat([positive, negative], dim=1)
        return functional.cross_entropy(
            logits, torch.zeros(len(labels), dtype=torch.long, device=device)
        )

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        import torch

        net = self.net_
        was_training = net.training
        net.eval()
        with torch.no_grad():
            x = torch.from_numpy(left_padded(histories, self.config.max_len)).to(self.device_)
            empty = x[:, -1] == 0
            x[empty, -1] = 1  # an empty history still needs one token; its row is reset below
            last = net(x)[:, -1, :]
            scores = (last @ net.items.weight[1:].T).cpu().numpy()
        if was_training:
            net.train()
        if empty.any():
            scores[empty.cpu().numpy()] = self.popularity_
        return scores

    def refit_overrides(self) -> dict[str, Any]:
        return {"epochs": int(getattr(self, "best_epoch_", self.config.epochs))}

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        weights = self.weights_["items.weight"][1:]
        unit = weights / (np.linalg.norm(weights, axis=1, keepdims=True) + 1e-9)
        return unit[items] @ unit.T


class SASRec(_Sequential):
    name = "sasrec"
    kind = "sasrec"

    def reason(self) -> str:
        return "predicted from the order of your recent items"


class GRU4Rec(_Sequential):
    name = "gru4rec"
    kind = "gru4rec"

    def reason(self) -> str:
        return "predicted from the order of your recent items"
