"""Ingestion: declared source formats, extract -> validate -> load, quarantine, reconciliation."""

from shopmind.ingest.context import IngestOptions, IngestReport
from shopmind.ingest.formats import FORMATS, get_format
from shopmind.ingest.pipeline import ingest_file

__all__ = ["FORMATS", "IngestOptions", "IngestReport", "get_format", "ingest_file"]
