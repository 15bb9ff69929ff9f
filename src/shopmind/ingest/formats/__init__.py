"""Registry of named source formats (``shopmind ingest --format NAME``)."""

from __future__ import annotations

from shopmind.errors import IngestError
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.formats.campaign import Campaign
from shopmind.ingest.formats.cdnow import Cdnow
from shopmind.ingest.formats.fraud_data import FraudData
from shopmind.ingest.formats.generic import Generic
from shopmind.ingest.formats.movielens import MovieLens
from shopmind.ingest.formats.online_retail import OnlineRetail
from shopmind.ingest.formats.sequences import Sequences, Sessions
from shopmind.ingest.formats.taobao import TaobaoUserBehavior

FORMATS: dict[str, type[Format]] = {
    f.name: f
    for f in (
        Generic,
        OnlineRetail,
        TaobaoUserBehavior,
        Cdnow,
        Sequences,
        Sessions,
        MovieLens,
        FraudData,
        Campaign,
    )
}


def get_format(name: str) -> Format:
    """The format called ``name``; the error lists the known ones."""
    try:
        return FORMATS[name]()
    except KeyError:
        raise IngestError(
            f"Unknown format '{name}'.",
            hint=f"Known formats: {', '.join(sorted(FORMATS))}.",
        ) from None


__all__ = ["FORMATS", "Field", "Format", "get_format"]
