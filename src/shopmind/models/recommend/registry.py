"""Model names -> classes (the CLI's ``--model`` choices)."""

from __future__ import annotations

from importlib import import_module

from shopmind.errors import RecommendError

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
    "hybrid": "hybrid:Hybrid",
}


def model_class(name: str):  # -> type[Recommender]
    if name not in MODELS:
        raise RecommendError(
            f"Unknown recommender '{name}'.", hint=f"Choose one of: {', '.join(MODELS)}."
        )
    module, cls = MODELS[name].split(":")
    return getattr(import_module(f"shopmind.models.recommend.{module}"), cls)
