"""SQL building blocks for validation: parse a value or say, in words, why it is bad.

Each ``*_value`` function returns a DuckDB expression that parses a source column (NULL when
it cannot); each ``*_problem`` function returns an expression that is NULL when the value is
fine and otherwise a short reason naming the column and the bad value.
"""

from __future__ import annotations

from shopmind.errors import IngestError
from shopmind.ingest.dates import day_one_of, yearless
from shopmind.ingest.extract import quote_literal
from shopmind.store.workspace import EVENT_TYPES as EVENT_TYPES  # the formats read it here

#: Source spellings accepted for each canonical event type (lower-cased, trimmed).
EVENT_TYPE_ALIASES = {
    "view": (
        "view",
        "pv",
        "page_view",
        "pageview",
        "detail",
        "product_view",
        "view_item",
        "click",
        "visit",
        "browse",
    ),
    "cart": ("cart", "add_to_cart", "addtocart", "add-to-cart", "basket", "add"),
    "remove_cart": ("remove_cart", "remove_from_cart", "removefromcart", "remove"),
    "favorite": ("favorite", "favourite", "fav", "wishlist", "like", "add_to_wishlist"),
    "purchase": ("purchase", "buy", "order", "transaction", "sale", "completed_order"),
    "search": ("search", "query"),
    "refund": ("refund", "return", "cancel", "cancellation"),
}


def check_event_map(pairs: list[str]) -> dict[str, str]:
    """``--event-map SOURCE=TYPE`` pairs to ``{source value (lower-cased): canonical type}``;
    a pair without ``=`` or with an unknown type is refused with the accepted types."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.rpartition("=")
        source, target = source.strip().lower(), target.strip().lower()
        if not sep or not source or target not in EVENT_TYPES:
            raise IngestError(
                f"--event-map {pair!r} is not of the form SOURCE=TYPE with TYPE one of "
                f"{', '.join(EVENT_TYPES)}.",
                hint="Example: --event-map begin_checkout=cart --event-map detail=view.",
            )
        mapping[source] = target
    return mapping


def known_event_type(value: str, event_map: dict[str, str] | None = None) -> str | None:
    """The type :func:`event_type_value` gives a (lower-cased) source value, else None."""
    if event_map and value in event_map:
        return event_map[value]
    if value in EVENT_TYPES:
        return value
    return next((t for t, aliases in EVENT_TYPE_ALIASES.items() if value in aliases), None)


def event_map_conflicts(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """How ``after`` would change the type of events an earlier load with ``before`` kept
    (a row's type is part of its key: it would be stored twice); empty when it only adds."""
    return [
        f"{value} ({was} -> {now or 'unknown'})"
        for value in sorted(set(before) | set(after))
        if (was := known_event_type(value, before)) is not None
        and (now := known_event_type(value, after)) != was
    ]


#: Accepted time range for event timestamps (UTC).
MIN_TS = "1970-01-01 00:00:00+00"
MAX_TS_SQL = "now() + INTERVAL 2 DAY"
MAX_ABS_QUANTITY = 1_000_000
MAX_PRICE = 1e9

_ZONE_RE = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$"
_EPOCH_S_RE = r"^\d{9,10}(\.\d+)?$"
_EPOCH_MS_RE = r"^\d{12,13}$"
_EPOCH_US_RE = r"^\d{15,16}$"  # microseconds (GA4 ``event_timestamp``)
_YYYYMMDD_RE = r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$"  # GA4 ``event_date``


_NULL_SPELLINGS = ("", "nan", "null", "none", "na", "n/a")
_NUMBER_TYPES = {"BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT", "FLOAT", "DECIMAL"}
#: DuckDB types of numeric source columns (a timestamp there is epoch time unless a pattern
#: says otherwise)
NUMBER_TYPES = frozenset(_NUMBER_TYPES)


# Membership tests are written ``list_contains([...], x)``, not ``x IN (...)``: DuckDB plans
# an IN list of six or more constants as a hash join per list, which costs a pass each.


def trimmed(col: str) -> str:
    """``trim(CAST(col AS VARCHAR))``, about 4x cheaper on the common value: an ASCII value
    (byte length = character length) with no space at either end is its own trim (trim
    removes Unicode space separators only; in ASCII that is the space alone)."""
    v = f"CAST({col} AS VARCHAR)"
    return (
        f"CASE WHEN strlen({v}) = length({v}) AND NOT prefix({v}, ' ') AND NOT suffix({v}, ' ') "
        f"THEN {v} ELSE trim({v}) END"
    )


def text(col: str) -> str:
    """Trimmed text; empty strings and common null spellings (nan, NULL, N/A...) become NULL."""
    t = trimmed(col)
    spellings = ", ".join(quote_literal(s) for s in _NULL_SPELLINGS)
    # the length test first: most values are longer than any null spelling
    return (
        f"CASE WHEN length({t}) > 4 THEN {t} "
        f"WHEN list_contains([{spellings}], lower({t})) THEN NULL ELSE {t} END"
    )


#: HTML entities that web exports leave in titles (Amazon metadata: ``Salt &amp; Pepper``);
#: ``&amp;`` is decoded last so ``&amp;lt;`` becomes ``&lt;``, as ``html.unescape`` does.
_HTML_ENTITIES = (
    ("&quot;", '"'),
    ("&#34;", '"'),
    ("&#39;", "'"),
    ("&#039;", "'"),
    ("&apos;", "'"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&nbsp;", " "),
    ("&#160;", " "),
    ("&reg;", "\u00ae"),
    ("&trade;", "\u2122"),
    ("&copy;", "\u00a9"),
    ("&eacute;", "\u00e9"),
    ("&amp;", "&"),
)


def entities_decoded(expr: str) -> str:
    """``expr`` with the common HTML entities of web exports decoded (titles for people);
    values without ``&`` pass untouched."""
    decoded = expr
    for entity, char in _HTML_ENTITIES:
        decoded = f"replace({decoded}, {quote_literal(entity)}, {quote_literal(char)})"
    return f"CASE WHEN contains({expr}, '&') THEN {decoded} ELSE {expr} END"


def category_text(expr: str) -> str:
    """A category as a path: a JSON list of names (Amazon metadata ``["Electronics",
    "Cables"]``) becomes ``Electronics > Cables``; entities decoded; other text as is."""
    path = (
        f"nullif(array_to_string(list_filter(from_json({expr}, '[\"VARCHAR\"]'), "
        "x -> trim(x) <> ''), ' > '), '')"
    )
    listed = (
        f"CASE WHEN starts_with({expr}, '[') AND json_valid({expr}) THEN {path} ELSE {expr} END"
    )
    return entities_decoded(listed)


_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
_INTEGER_TYPES = {"BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "SMALLINT", "TINYINT", "UINTEGER"}


def id_text(col: str, col_type: str = "VARCHAR") -> str:
    """An identifier as :func:`text`, with the ``.0`` of a whole number written as a float
    dropped (``266079.0`` -> ``266079``: pandas writes the integer ids of a column with gaps
    as floats), so that one id written both ways is one id (one pseudonym)."""
    kind = col_type.upper()
    if kind in _INTEGER_TYPES:  # no fraction to drop
        return text(col)
    if kind in _FLOAT_TYPES:
        return (
            f"CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e18 "
            f"THEN CAST(CAST({col} AS HUGEINT) AS VARCHAR) ELSE {text(col)} END"
        )
    t = text(col)
    return (
        f"CASE WHEN contains({t}, '.0') AND regexp_full_match({t}, '-?[0-9]+\\.0+') "
        f"THEN split_part({t}, '.', 1) ELSE {t} END"
    )


def _zoned(formats: tuple[str, ...]) -> bool:
    return any("%z" in f or "%Z" in f for f in formats)


def _yyyymmdd(v: str) -> str:
    """A compact date (GA4 ``event_date``: ``20210131``) as a naive TIMESTAMP, or NULL."""
    return f"try_strptime({v}, '%Y%m%d')"


def _counts_days(formats: tuple[str, ...]) -> bool:
    return any(day_one_of(f) is not None for f in formats)


def _strptime(v: str, formats: tuple[str, ...]) -> str:
    """``try_strptime`` with every format (a naive TIMESTAMP, or NULL); a yearless one
    (``dates.in_year``) reads the value with its year put in front, day numbers
    (``dates.counted_from``) count days from day 1 (midnight)."""
    for f in formats:
        if (day_one := day_one_of(f)) is not None:
            # whole day numbers only: 12.5 is no day (a cast to BIGINT would round it)
            x = f"TRY_CAST({v} AS DOUBLE)"
            return (
                f"CASE WHEN {x} BETWEEN -100000 AND 100000 AND {x} = floor({x}) THEN "
                f"CAST(DATE '{day_one}' + CAST({x} - 1 AS INTEGER) AS TIMESTAMP) END"
            )
    plain = [f for f in formats if yearless(f) is None]
    parts = [f"try_strptime({v}, [{', '.join(quote_literal(f) for f in plain)}])"] if plain else []
    for f in formats:
        if (found := yearless(f)) is not None:
            year, pattern = found
            # month and day as four digits: 829 is 0829 (a number column drops the zero)
            value = f"lpad({v}, 4, '0')" if pattern in ("%m%d", "%d%m") else v
            parts.append(f"try_strptime('{year}|' || {value}, {quote_literal('%Y|' + pattern)})")
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _has_yearless(formats: tuple[str, ...]) -> bool:
    return any(yearless(f) is not None for f in formats)


def ts_value(col: str, col_type: str, timezone: str | None, formats: tuple[str, ...] = ()) -> str:
    """TIMESTAMPTZ from text (ISO-8601 with or without zone, an offset after a blank, epoch
    s/ms, and with ``formats`` the day- or month-first dates of :mod:`shopmind.ingest.dates`),
    TIMESTAMP or number.

    Values without a zone are read in ``timezone``; with ``timezone=None`` they become NULL.
    """
    t = col_type.upper()
    if formats and _counts_days(formats) and not t.startswith(("TIMESTAMP", "DATE")):
        # a day number is a local day: read in the zone given, else NULL (ts_problem says why)
        day = _strptime(trimmed(col), formats)
        return f"timezone({quote_literal(timezone)}, {day})" if timezone else "NULL::TIMESTAMPTZ"
    if formats and t in _NUMBER_TYPES and _has_yearless(formats):
        # Tmall's 1111 as a Parquet integer: the pattern reads its digits, never epoch seconds
        day = _strptime(f"CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR)", formats)
        return f"timezone({quote_literal(timezone)}, {day})" if timezone else "NULL::TIMESTAMPTZ"
    if formats and not t.startswith(("TIMESTAMP", "DATE")) and t not in _NUMBER_TYPES:
        other = ts_value(col, col_type, timezone)
        parsed = _strptime(trimmed(col), formats)
        if _zoned(formats):  # the pattern reads the offset: the instant is the value's own
            return f"CASE WHEN {parsed} IS NULL THEN {other} ELSE CAST({parsed} AS TIMESTAMPTZ) END"
        if not timezone:  # a date without a zone: NULL, and ts_problem says why
            return other
        local = f"timezone({quote_literal(timezone)}, {parsed})"
        return f"CASE WHEN {parsed} IS NULL THEN {other} ELSE {local} END"
    tz = quote_literal(timezone) if timezone else None
    if "WITH TIME ZONE" in t or t.startswith("TIMESTAMPTZ"):
        return f"CAST({col} AS TIMESTAMPTZ)"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"timezone({tz}, CAST({col} AS TIMESTAMP))" if tz else "NULL::TIMESTAMPTZ"
    if t in _NUMBER_TYPES:
        compact = _yyyymmdd(f"CAST(CAST({col} AS BIGINT) AS VARCHAR)")
        x = f"CAST({col} AS DOUBLE)"
        return (
            # NaN, infinities and numbers no timestamp holds are no time (to_timestamp
            # would fail the whole load on one of them)
            f"CASE WHEN NOT isfinite({x}) OR {x} >= 1e18 OR {x} < -9e12 THEN NULL "
            f"WHEN {col} BETWEEN 19000101 AND 21001231 "  # YYYYMMDD as a number
            f"AND {compact} IS NOT NULL THEN timezone({tz or 'NULL'}, {compact}) "
            f"WHEN {col} > 1e14 THEN to_timestamp({col} / 1000000.0) "
            f"WHEN {col} > 1e11 THEN to_timestamp({col} / 1000.0) "
            f"ELSE to_timestamp(CAST({col} AS DOUBLE)) END"
        )
    v = trimmed(col)
    naive = f"timezone({tz}, TRY_CAST({v} AS TIMESTAMP))" if tz else "NULL::TIMESTAMPTZ"
    zoned = f"TRY_CAST({v} AS TIMESTAMPTZ)"
    # Cheap tests first: a non-zero offset changes the instant against the naive reading;
    # zero-offset suffixes are tested as suffixes; the zone regex is the last resort.
    utc_suffix = " OR ".join(
        f"suffix({v}, '{s}')" for s in ("Z", "+00", "+00:00", "+0000", "UTC", "-00:00")
    )
    # an offset after a blank (Shopify exports: '2024-01-05 14:22:00 +0100') is read too
    spaced = (
        f"TRY_CAST(regexp_replace({v}, ' ([+-][0-9][0-9]:?[0-9][0-9])$', '\\1') AS TIMESTAMPTZ)"
    )
    # a compact date is a local day: read in the zone given, else NULL (no zone)
    compact = (
        f" WHEN regexp_matches({v}, '{_YYYYMMDD_RE}') THEN timezone({tz}, {_yyyymmdd(v)})"
        if tz
        else ""
    )
    epoch = (
        f"CASE WHEN regexp_matches({v}, '{_EPOCH_S_RE}') THEN to_timestamp(TRY_CAST({v} AS DOUBLE))"
        f" WHEN regexp_matches({v}, '{_EPOCH_MS_RE}')"
        f" THEN to_timestamp(TRY_CAST({v} AS DOUBLE) / 1000.0)"
        f" WHEN regexp_matches({v}, '{_EPOCH_US_RE}')"
        f" THEN to_timestamp(TRY_CAST({v} AS DOUBLE) / 1000000.0){compact} END"
    )
    return (
        f"CASE WHEN {utc_suffix} THEN coalesce({zoned}, {spaced})"
        f" WHEN {zoned} IS NULL THEN coalesce({spaced}, {epoch})"
        f" WHEN {zoned} <> CAST(TRY_CAST({v} AS TIMESTAMP) AS TIMESTAMPTZ) THEN {zoned}"
        f" WHEN regexp_matches({v}, '{_ZONE_RE}') THEN {zoned}"
        f" ELSE {naive} END"
    )


def ts_problem(
    col: str,
    parsed: str,
    name: str,
    col_type: str,
    timezone: str | None,
    formats: tuple[str, ...] = (),
) -> str:
    """Why a timestamp is unusable (missing, unparseable, no zone, out of range), else NULL."""
    v = trimmed(col)
    # a value read as a local time: the zone is missing when no --timezone is given
    yyyymmdd = f"CASE WHEN strlen({v}) = 8 THEN {_yyyymmdd(v)} END"
    naive = f"coalesce(TRY_CAST({v} AS TIMESTAMP), {yyyymmdd})"
    if formats and not _zoned(formats):
        naive = f"coalesce(TRY_CAST({v} AS TIMESTAMP), {_strptime(v, formats)})"
    fix = (
        "pass --timezone Europe/London: a day number is a day of the shop''s zone"
        if _counts_days(formats)
        else "add an offset such as +00:00, or pass --timezone Europe/London"
    )
    no_zone = (
        f"WHEN {parsed} IS NULL AND {naive} IS NOT NULL "
        f"THEN '{name} ''' || {v} || ''' has no time zone ({fix})' "
        if timezone is None
        and (
            col_type.upper()
            in {"VARCHAR", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}
            or _counts_days(formats)
        )
        else ""
    )
    return (
        f"CASE WHEN {col} IS NULL OR {v} = '' THEN '{name} is missing' "
        f"{no_zone}"
        f"WHEN {parsed} IS NULL THEN '{name} ''' || left({v}, 60) || ''' is not a timestamp' "
        f"WHEN {parsed} < TIMESTAMPTZ '{MIN_TS}' OR {parsed} > {MAX_TS_SQL} "
        f"THEN '{name} ''' || CAST({parsed} AS VARCHAR) || ''' is out of range (1970 .. today)' "
        "END"
    )


_NUMERIC_TYPES = {
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "DOUBLE",
    "FLOAT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
}


#: Numbers with grouped thousands, per decimal separator ("1,234.5" / "1.234,5").
_GROUPED = {
    ".": r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$",
    ",": r"^[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$",
}
#: A comma between digits that cannot be a thousands separator: "1,5", "12,34".
DECIMAL_COMMA = r"^[+-]?[0-9]*,([0-9]{1,2}|[0-9]{4,})$"


def number_value(col: str, col_type: str = "VARCHAR", decimal: str = ".") -> str:
    """DOUBLE from text or a numeric column; NULL when not a finite number.

    With ``decimal='.'`` commas are accepted only as thousands separators in groups of three
    ("1,234.5"); "1,5" is not a number (see :func:`number_problem`). With ``decimal=','``
    "1,5" is 1.5 and dots may group thousands ("1.234,5")."""
    if col_type.upper() in _NUMERIC_TYPES or col_type.upper().startswith("DECIMAL"):
        v = f"CAST({col} AS DOUBLE)"
    else:
        t = trimmed(col)
        # "$12.99", "US$ 1,299.00", "12,99 €": the symbol goes, the number is read as usual
        lead = f"regexp_replace({t}, {quote_literal(_CURRENCY_LEAD)}, '\\1')"
        bare = f"regexp_replace({lead}, {quote_literal(_CURRENCY_TRAIL)}, '')"
        v = (
            f"coalesce({_text_number(t, decimal)}, CASE WHEN regexp_matches({t}, "
            f"{quote_literal(_CURRENCY_SYMBOL)}) THEN {_text_number(bare, decimal)} END)"
        )
    return f"CASE WHEN isfinite({v}) THEN {v} END"


#: A currency symbol (with a country prefix such as US$, R$, HK$) before or after a number.
_CURRENCY_SYMBOL = "[$£€¥￥₹₩₽]"
_CURRENCY_LEAD = r"^([+-]?)\s*[A-Z]{0,3}[$£€¥￥₹₩₽]\s*"
_CURRENCY_TRAIL = r"\s*[$£€¥￥₹₩₽]$"


def _text_number(t: str, decimal: str) -> str:
    """DOUBLE from the text ``t`` (NULL when it is no number), thousands grouped or not."""
    grouped = quote_literal(_GROUPED[decimal])
    if decimal == ",":
        return (
            f"CASE WHEN regexp_matches({t}, '^[+-]?[0-9]+(,[0-9]+)?$') "
            f"THEN TRY_CAST(replace({t}, ',', '.') AS DOUBLE) "
            f"WHEN regexp_matches({t}, {grouped}) "
            f"THEN TRY_CAST(replace(replace({t}, '.', ''), ',', '.') AS DOUBLE) END"
        )
    return (
        f"coalesce(TRY_CAST({t} AS DOUBLE), CASE WHEN regexp_matches({t}, {grouped}) "
        f"THEN TRY_CAST(replace({t}, ',', '') AS DOUBLE) END)"
    )


def _decimal_comma_check(v: str, raw: str, name: str) -> str:
    return (
        f"WHEN {v} IS NULL AND regexp_matches({raw}, '{DECIMAL_COMMA}') "
        f"THEN '{name} ''' || left({raw}, 40) || ''' is ambiguous (a decimal comma?): pass "
        "--decimal , if commas are decimal points, or write it with a point'"
    )


def decimal_comma_problem(col: str, name: str, parsed: str) -> str:
    """Only the ambiguous-comma reason of :func:`number_problem` (``1,5`` read with
    ``--decimal .``), for a field whose other unreadable values are kept as NULL."""
    return f"CASE {_decimal_comma_check(parsed, trimmed(col), name)} END"


def number_problem(
    col: str,
    name: str,
    *,
    parsed: str | None = None,
    required: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """Why a numeric value is unusable (missing, not a number, out of [low, high]), else NULL.

    ``parsed`` names an already computed :func:`number_value` of ``col`` (saves a re-parse).
    """
    v = parsed or number_value(col)
    raw = trimmed(col)
    shown = f"coalesce(CAST({v} AS VARCHAR), '')"
    checks = []
    if required:
        checks.append(f"WHEN {col} IS NULL OR {raw} = '' THEN '{name} is missing'")
    checks.append(_decimal_comma_check(v, raw, name))
    checks.append(
        f"WHEN {col} IS NOT NULL AND {raw} <> '' AND {v} IS NULL "
        f"THEN '{name} ''' || left({raw}, 40) || ''' is not a number'"
    )
    if low is not None:
        # a derived value (a price from a line total) has no raw text of its own: the
        # reason shows the value, never NULL (a NULL reason would let the row through)
        checks.append(
            f"WHEN {v} < {low} THEN '{name} ''' || coalesce({raw}, {shown}) || ''' is below "
            f"{low:g}'"
        )
    if high is not None:
        checks.append(
            f"WHEN {v} > {high} THEN '{name} ''' || left(coalesce({raw}, {shown}), 40) || "
            f"''' is above {high:g}'"
        )
    return "CASE " + " ".join(checks) + " END"


def event_type_value(col: str, event_map: dict[str, str] | None = None) -> str:
    """Canonical event type from a source spelling (the user's ``event_map`` of lower-cased
    source values first, then EVENT_TYPE_ALIASES), else NULL."""
    v = f"lower({trimmed(col)})"
    exact = ", ".join(quote_literal(t) for t in EVENT_TYPES if t not in (event_map or {}))
    mapped = " ".join(
        f"WHEN {v} = {quote_literal(source)} THEN {quote_literal(target)}"
        for source, target in (event_map or {}).items()
    )
    whens = (
        mapped
        + " "
        + " ".join(
            f"WHEN list_contains([{', '.join(quote_literal(a) for a in aliases)}], {v}) "
            f"THEN '{canonical}'"
            for canonical, aliases in EVENT_TYPE_ALIASES.items()
        )
    )
    # the canonical spellings themselves first: one comparison instead of seven lookups
    c = f"CAST({col} AS VARCHAR)"
    return f"CASE WHEN list_contains([{exact}], {c}) THEN {c} {whens} END"


def event_type_problem(col: str, parsed: str | None = None) -> str:
    """Why an event type is unusable (missing, not a known spelling), else NULL; the reason
    names ``--event-map``, which maps a shop's own event names to types.

    ``parsed`` names an already computed :func:`event_type_value` of ``col``."""
    allowed = ", ".join(EVENT_TYPES)
    return (
        f"CASE WHEN {col} IS NULL OR {trimmed(col)} = '' "
        "THEN 'event_type is missing' "
        f"WHEN ({parsed or event_type_value(col)}) IS NULL THEN 'event_type ''' || "
        f"left({trimmed(col)}, 40) || ''' is not one of {allowed} (map it with --event-map "
        f"' || left(lower({trimmed(col)}), 40) || '=TYPE)' END"
    )


def required_text_problem(col: str, name: str) -> str:
    return f"CASE WHEN ({text(col)}) IS NULL THEN '{name} is missing' END"


#: Plausible window for dates of historical purchase exports (fraud_data, cdnow).
PLAUSIBLE_SINCE = "1990-01-01"


def plausible_date_problem(parsed: str, name: str, raw: str) -> str:
    """Why a parsed date is implausible for a purchase export (before 1990 or after
    tomorrow), else NULL."""
    return (
        f"CASE WHEN {parsed} < TIMESTAMPTZ '{PLAUSIBLE_SINCE} 00:00:00+00' "
        f"OR {parsed} > now() + INTERVAL 1 DAY THEN '{name} ''' || coalesce({raw}, '') || "
        f"''' is outside the plausible window ({PLAUSIBLE_SINCE} .. tomorrow)' END"
    )


def nested_id_problem(col: str, name: str) -> str:
    """Why an id value is not an id: a nested JSON object or array (JSON-lines input)."""
    # prefix() compares bytes; left(col, 1) counts characters first (about 2x the cost)
    return (
        f"CASE WHEN (prefix({col}, '{{') OR prefix({col}, '[')) "
        f"AND coalesce(json_valid({col}), false) "
        f"THEN '{name} is a nested JSON ' || lower(json_type({col})) || ', not an id' END"
    )


def first_problem(*problems: str) -> str:
    """The first non-NULL reason among several checks."""
    kept = [p for p in problems if p]
    return f"coalesce({', '.join(kept)})" if len(kept) > 1 else (kept[0] if kept else "NULL")
