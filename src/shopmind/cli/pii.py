"""``shopmind pii``: redact PII in English / Chinese free text, train and measure the taggers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, fail, print_table, stdout

DataDirOpt = Annotated[
    Path, typer.Option(help="The shared data folder (presidio_synth_pii_en, cluener2020_zh).")
]
ModelEnOpt = Annotated[
    Path | None,
    typer.Option(help="English tagger from `pii train --language en` (either backend)."),
]
ModelZhOpt = Annotated[
    Path | None, typer.Option(help="Chinese tagger from `pii train --language zh`.")
]
LanguageOpt = Annotated[str, typer.Option(help="en | zh | auto (by the share of Han characters).")]


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    app = typer.Typer(
        help="PII in free text (English, Chinese): Presidio with our recognizers and taggers.",
        no_args_is_help=True,
    )
    app.command()(train)
    app.command()(redact)
    app.command()(evaluate)
    root.add_typer(app, name="pii")


def train(
    out: Annotated[
        Path, typer.Option(help="Where to write the tagger (.npz, or .safetensors: transformer).")
    ],
    language: Annotated[str, typer.Option(help="en | zh.")] = "en",
    backend: Annotated[
        str,
        typer.Option(help="perceptron (fast, en + zh) | transformer (MiniLM fine-tuned, en)."),
    ] = "perceptron",
    data_dir: DataDirOpt = Path("../shared/data"),
    epochs: Annotated[
        int | None,
        typer.Option(help="Passes (perceptron default: en 20, zh 8; transformer: at most 4)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Train on the first N sentences only.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train the name / address tagger for one language on its public training set."""
    from shopmind.privacy.pii_train import train_and_save

    info = train_and_save(data_dir, language, out, epochs=epochs, limit=limit, backend=backend)
    emit(
        info,
        as_json,
        lambda: stdout.print(
            f"{info['language']} {info['backend']} tagger: {info['sentences']} sentences, labels "
            f"{', '.join(info['labels'])}, o_bias {info['o_bias']}, {info['bytes']} bytes in "
            f"{info['seconds']} s -> {info['out']}",
            highlight=False,
        ),
    )


def redact(
    text: Annotated[str | None, typer.Argument(help="The text to redact.")] = None,
    data: Annotated[Path | None, typer.Option(help="A CSV / JSONL / Parquet file.")] = None,
    column: Annotated[str | None, typer.Option(help="The free-text column of --data.")] = None,
    language: LanguageOpt = "auto",
    model_en: ModelEnOpt = None,
    model_zh: ModelZhOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Redact one TEXT, or the --column of every row of a --data file."""
    from shopmind.privacy.pii_train import load_analyzer, redact_file

    if (text is None) == (data is None):
        raise fail("Give either TEXT or --data FILE (with --column).")
    analyzer = load_analyzer(model_en, model_zh)
    if text is not None:
        spans = analyzer.analyze(text, language)
        redacted = analyzer.redact(text, language)
        entities = [
            {"type": k, "start": s, "end": e, "score": round(sc, 3)} for k, s, e, sc in spans
        ]
        emit(
            {"text": redacted, "entities": entities},
            as_json,
            lambda: stdout.print(redacted, highlight=False, markup=False),
        )
        return
    if column is None:
        raise fail("--data needs --column NAME (the free-text column).")
    assert data is not None
    rows = redact_file(data, column, analyzer, language)

    def render() -> None:  # one JSON line per row: the text face of a file is JSON lines
        for row in rows:
            stdout.print(json.dumps(row, ensure_ascii=False, default=str), highlight=False)

    emit({"file": str(data), "column": column, "rows": rows}, as_json, render)


def evaluate(
    dataset: Annotated[str, typer.Option(help="en | zh | zh-sample.")] = "en",
    data_dir: DataDirOpt = Path("../shared/data"),
    model_en: ModelEnOpt = None,
    model_zh: ModelZhOpt = None,
    iou: Annotated[float, typer.Option(help="Span match threshold (1.0: exact).")] = 0.7,
    as_json: JsonOption = False,
) -> None:
    """Per-entity precision / recall / F2 of the redactor on a held-out set."""
    from shopmind.privacy.pii_train import evaluate_analyzer, evaluation_set, load_analyzer

    analyzer = load_analyzer(model_en, model_zh)
    report = evaluate_analyzer(analyzer, evaluation_set(data_dir, dataset), dataset, iou=iou)
    emit(
        report,
        as_json,
        lambda: print_table(
            f"PII {dataset} (IoU >= {iou:g}, {report['sentences']} sentences, "
            f"{report['messages_per_s']} messages/s)",
            ["entity", "precision", "recall", "f2", "gold", "predicted"],
            [
                [r[c] for c in ("entity", "precision", "recall", "f2", "gold", "predicted")]
                for r in report["rows"]
            ],
        ),
    )
