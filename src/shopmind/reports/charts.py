"""Charts as inline SVG (matplotlib, no JavaScript), so the report is one self-contained file."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

PALETTE = [
    "#2563eb",
    "#16a34a",
    "#f59e0b",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#ea580c",
    "#4b5563",
    "#0d9488",
    "#9333ea",
]


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def funnel_chart(names: Sequence[str], users: Sequence[int]) -> str:
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.barh(list(names)[::-1], list(users)[::-1], color=PALETTE[: len(names)][::-1])
    for i, v in enumerate(list(users)[::-1]):
        ax.text(v, i, f" {v:,}", va="center")
    ax.set_xlabel("users")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def heatmap(rows: Sequence[str], values: np.ndarray, xlabel: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    # cells not observable yet are NaN and stay blank; all of them may be (a young shop)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=max(top, 0.01))
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(values.shape[1]), [str(i + 1) for i in range(values.shape[1])])
    ax.set_xlabel(xlabel)
    for (i, j), v in np.ndenumerate(values):
        if not np.isfinite(v):
            continue
        ax.text(
            j,
            i,
            f"{100 * v:.0f}%",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if v > 0.5 * top else "black",
        )
    fig.colorbar(image, ax=ax, fraction=0.03)
    return _svg(fig)


def line_chart(x: Sequence[str], y: Sequence[float], ylabel: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.plot(range(len(y)), list(y), color=PALETTE[0], marker="o", markersize=2)
    step = max(1, len(x) // 8)
    ax.set_xticks(range(0, len(x), step), [str(v)[:10] for v in x][::step], rotation=30)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def bar_chart(labels: Sequence[str], values: Sequence[float], xlabel: str) -> str:
    fig, ax = plt.subplots(figsize=(6, 0.32 * len(labels) + 1))
    ax.barh(
        list(labels)[::-1],
        list(values)[::-1],
        color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))][::-1],
    )
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def histogram(values: Sequence[float], xlabel: str, ylabel: str = "customers") -> str:
    fig, ax = plt.subplots(figsize=(6, 2.8))
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    ax.hist(data, bins=40, color=PALETTE[1])
    if data.size and data.max() > 20 * max(np.median(data), 1e-9):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def qini_chart(x: Sequence[float], y: Sequence[float]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(list(x), list(y), color=PALETTE[0], label="model")
    ax.plot([0, x[-1]], [0, y[-1]], color=PALETTE[9], linestyle="--", label="random")
    ax.set_xlabel("customers targeted (held-out, by predicted uplift)")
    ax.set_ylabel("incremental conversions")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def reliability_chart(predicted: Sequence[float], observed: Sequence[float]) -> str:
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], color=PALETTE[9], linestyle="--")
    ax.plot(list(predicted), list(observed), color=PALETTE[3], marker="o")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def tradeoff_chart(
    thresholds: Sequence[float],
    accuracy: Sequence[float],
    recall: Sequence[float],
    chosen: float | None = None,
) -> str:
    """In-scope accuracy and out-of-scope recall against the confidence threshold."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(list(thresholds), list(accuracy), color=PALETTE[0], label="in-scope accuracy")
    ax.plot(list(thresholds), list(recall), color=PALETTE[3], label="out-of-scope recall")
    if chosen is not None:
        ax.axvline(chosen, color=PALETTE[9], linestyle="--", label=f"chosen {chosen:.2f}")
    ax.set_xlabel("confidence threshold")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
