"""PII redaction of free text, measured -> benchmarks/results/pii.json.

    python benchmarks/pii.py                         # both backends: train, print the tables
    python benchmarks/pii.py --backend perceptron    # the fast taggers only (~2 min)
    python benchmarks/pii.py --backend transformer   # MiniLM for English (~10 min on 2 cores)
    python benchmarks/pii.py --json                  # the same as one JSON object
    python benchmarks/pii.py --backend transformer --model-en en.safetensors --model-zh zh.npz

Backends: ``perceptron`` (averaged perceptron taggers, English and Chinese) and
``transformer`` (the packaged MiniLM-L6 fine-tuned for English; Chinese keeps the perceptron,
the packaged encoder has no Chinese vocabulary). Runs offline (HF_HUB_OFFLINE=1).

Sets (never scored on training sentences):

* ``en``: presidio-research synth_dataset_v2, the held-out templates (crc32(template_id) % 100
  < 30; 448 sentences); the English tagger trains on the other templates. Span level, IoU
  >= 0.7 over non-space non-punctuation characters; ``PII`` ignores types (presidio-evaluator's
  pii_precision / pii_recall / pii_f, F2).
* ``zh``: CLUENER2020 dev.json ``name`` / ``address`` spans, tagger trained on train.json;
  exact spans (IoU 1.0, the CLUENER protocol) and overlap (IoU >= 0.5).
* ``zh-sample``: 600 generated Chinese messages (seed 0) with phones, ID cards, bank cards and
  look-alike order numbers.
* ``speed``: messages per second on short customer messages (English / Chinese), for the
  regex fast path (``redact_text``) and the Presidio analyzer with taggers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shopmind.privacy.pii_analyzer import PiiAnalyzer  # noqa: E402
from shopmind.privacy.pii_train import (  # noqa: E402
    evaluate_analyzer,
    evaluation_set,
    load_tagger,
    train_and_save,
)
from shopmind.privacy.redact import redact_text  # noqa: E402

MESSAGES = {
    "en": [
        "Hi, my order 10045 has not arrived, can you check?",
        "I'm John Miller, please call me back on (415) 555-0100.",
        "Send it to 221B Baker Street, London NW1 6XE please",
        "The parcel was damaged, I want a refund to my card.",
    ],
    "zh": [
        "你好，我的订单还没到，能帮我查一下吗？",
        "我叫王小明，电话13912345678，麻烦尽快发货",
        "地址改成上海市浦东新区张江路88号3号楼502室",
        "退款什么时候到账？卡号6222021234567890128",
    ],
}


def _speed(analyzer: PiiAnalyzer, language: str, repeat: int = 50) -> dict[str, float]:
    texts = MESSAGES[language] * repeat
    analyzer.redact(texts[0], language)  # warm up (jieba, spaCy)
    started = time.perf_counter()
    for text in texts:
        analyzer.redact(text, language)
    rich = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts * 10:
        redact_text(text)
    fast = 10 * len(texts) / (time.perf_counter() - started)
    return {"analyzer_messages_per_s": round(rich, 1), "fast_path_messages_per_s": round(fast, 1)}


def run(
    data_dir: Path, model_en: Path | None, model_zh: Path | None, backend: str = "perceptron"
) -> dict[str, Any]:
    out: dict[str, Any] = {"data_dir": str(data_dir), "backend": backend, "training": {}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for lang, given in (("en", model_en), ("zh", model_zh)):
            if given is None:
                kind = backend if lang == "en" else "perceptron"
                suffix = ".safetensors" if kind == "transformer" else ".npz"
                info = train_and_save(data_dir, lang, Path(tmp) / f"{lang}{suffix}", backend=kind)
                out["training"][lang] = info
                paths[lang] = Path(info["out"])
            else:
                paths[lang] = given
        analyzer = PiiAnalyzer({lang: load_tagger(p) for lang, p in paths.items()})
    out["en"] = evaluate_analyzer(analyzer, evaluation_set(data_dir, "en"), "en", iou=0.7)
    zh = evaluation_set(data_dir, "zh")
    out["zh_exact"] = evaluate_analyzer(analyzer, zh, "zh", iou=1.0)
    out["zh_overlap"] = evaluate_analyzer(analyzer, zh, "zh", iou=0.5)
    sample = evaluation_set(data_dir, "zh-sample")
    out["zh_sample"] = evaluate_analyzer(analyzer, sample, "zh-sample", iou=1.0)
    out["speed"] = {lang: _speed(analyzer, lang) for lang in ("en", "zh")}
    return out


def _print(result: dict[str, Any]) -> None:
    print(f"\n=== backend: {result['backend']}")
    for key in ("en", "zh_exact", "zh_overlap", "zh_sample"):
        report = result[key]
        print(f"\n{key}: IoU >= {report['iou']}, {report['sentences']} sentences")
        print(f"{'entity':<14}{'P':>8}{'R':>8}{'F2':>8}{'gold':>7}{'pred':>7}")
        for row in report["rows"]:
            print(
                f"{row['entity']:<14}{row['precision']:>8.3f}{row['recall']:>8.3f}"
                f"{row['f2']:>8.3f}{row['gold']:>7}{row['predicted']:>7}"
            )
    print("\nspeed (messages/s):", json.dumps(result["speed"]))
    for lang, info in result["training"].items():
        print(
            f"training {lang}: {info['sentences']} sentences, {info['seconds']} s, "
            f"{info['bytes']} bytes, o_bias {info['o_bias']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--model-en", type=Path)
    parser.add_argument("--model-zh", type=Path)
    parser.add_argument("--backend", choices=("perceptron", "transformer", "both"), default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ("perceptron", "transformer") if args.backend == "both" else (args.backend,)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    path = results / "pii.json"
    stored = json.loads(path.read_text()) if path.is_file() else {}
    stored = stored if "backends" in stored else {"backends": {}}
    for backend in backends:
        models = (args.model_en, args.model_zh) if len(backends) == 1 else (None, None)
        result = run(args.data_dir, *models, backend=backend)
        stored["backends"][backend] = result
        path.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            _print(result)


if __name__ == "__main__":
    main()
