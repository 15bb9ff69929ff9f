"""Model names -> classes (the CLI's ``--model`` choices)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from shopmind.errors import RecommendError

if TYPE_CHECKING:
    from shopmind.models.recommend.base import Recommender

#: name -> "module:Class" (imported lazily: torch and implicit are heavy).
MODELS = {
    "popularity": "popularity:Popularity",
    "trending": "popularity:Trending",
    "itemknn": "itemknn:ItemKNN",
    "sknn": "sknn:SessionKNN",
    "markov": "markov:Markov",
    "als": "factorization:ALS",
    "bpr": "factorization:BPR",
    "sasrec": "sequential:SASRec",
    "gru4rec": "sequential:GRU4Rec",
    "content": "content:Content",
    "attributes": "attributes:Attributes",
    "slist": "slist:Slist",
    "hybrid": "hybrid:Hybrid",
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (its module is imported on first use)."""
    if name not in MODELS:
        raise RecommendError(
            f"Unknown recommender '{name}'.", hint=f"Choose one of: {', '.join(MODELS)}."
        )
    module, cls = MODELS[name].split(":")
    found: type[Recommender] = getattr(import_module(f"shopmind.models.recommend.{module}"), cls)
    return found
