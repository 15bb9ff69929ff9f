"""Versioned schema migrations for the workspace database.

Each migration is applied once, in order, inside one transaction, and recorded in
``schema_migrations``. Never edit a released migration: add a new one.
The canonical tables are documented in docs/schema.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


_V1_CANONICAL = """
CREATE TABLE events (
    event_id     VARCHAR NOT NULL,
    user_id      VARCHAR,
    session_id   VARCHAR,
    item_id      VARCHAR,
    event_type   VARCHAR NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    quantity     DOUBLE,
    price        DOUBLE,
    order_id     VARCHAR,
    query        VARCHAR,
    source       VARCHAR,
    rating       DOUBLE,
    ingestion_id VARCHAR NOT NULL,
    CHECK (event_type IN ('view', 'cart', 'remove_cart', 'favorite', 'purchase', 'search',
                          'refund'))
);
CREATE TABLE users (
    user_id      VARCHAR NOT NULL,
    signup_ts    TIMESTAMPTZ,
    country      VARCHAR,
    gender       VARCHAR,
    age          INTEGER,
    attributes   JSON,
    ingestion_id VARCHAR NOT NULL
);
CREATE TABLE items (
    item_id      VARCHAR NOT NULL,
    title        VARCHAR,
    title_zh     VARCHAR,
    description  VARCHAR,
    category     VARCHAR,
    brand        VARCHAR,
    price        DOUBLE,
    in_stock     BOOLEAN,
    attributes   JSON,
    ingestion_id VARCHAR NOT NULL
);
CREATE TABLE orders (
    order_id        VARCHAR NOT NULL,
    user_id         VARCHAR,
    ts              TIMESTAMPTZ NOT NULL,
    amount          DOUBLE,
    status          VARCHAR NOT NULL,
    currency        VARCHAR,
    parent_order_id VARCHAR,
    source          VARCHAR,
    attributes      JSON,
    ingestion_id    VARCHAR NOT NULL
);
CREATE TABLE order_items (
    order_id     VARCHAR NOT NULL,
    line_id      VARCHAR NOT NULL,
    item_id      VARCHAR,
    quantity     DOUBLE,
    unit_price   DOUBLE,
    amount       DOUBLE,
    ingestion_id VARCHAR NOT NULL
);
CREATE TABLE quarantine (
    source       VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,
    raw          VARCHAR,
    reason       VARCHAR NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    format       VARCHAR,
    ingestion_id VARCHAR NOT NULL
);
CREATE TABLE ingestions (
    ingestion_id       VARCHAR PRIMARY KEY,
    file               VARCHAR NOT NULL,
    format             VARCHAR NOT NULL,
    target             VARCHAR NOT NULL,
    sha256             VARCHAR NOT NULL,
    rows_in            BIGINT NOT NULL,
    rows_loaded        BIGINT NOT NULL,
    rows_quarantined   BIGINT NOT NULL,
    duplicates_skipped BIGINT NOT NULL,
    events_loaded      BIGINT NOT NULL,
    pseudonymized      BOOLEAN NOT NULL,
    options            JSON,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ NOT NULL
);
CREATE TABLE labels (
    subject_type VARCHAR NOT NULL,
    subject_id   VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    value        VARCHAR,
    source       VARCHAR NOT NULL
);
CREATE TABLE campaign_assignments (
    campaign_id VARCHAR NOT NULL,
    user_id     VARCHAR NOT NULL,
    arm         VARCHAR NOT NULL,
    sent_ts     TIMESTAMPTZ NOT NULL,
    converted   BOOLEAN,
    revenue     DOUBLE
);
CREATE TABLE tickets (
    ticket_id VARCHAR NOT NULL,
    user_id   VARCHAR,
    order_id  VARCHAR,
    ts        TIMESTAMPTZ NOT NULL,
    language  VARCHAR NOT NULL,
    channel   VARCHAR,
    text      VARCHAR NOT NULL,
    intent    VARCHAR
);
"""

_V2_PROFILES = """
CREATE TABLE user_profiles (
    user_id            VARCHAR NOT NULL,
    first_seen         TIMESTAMPTZ,
    last_seen          TIMESTAMPTZ,
    events             BIGINT,
    purchases          BIGINT,
    mean_price         DOUBLE,
    source             VARCHAR,
    favourite_category VARCHAR,
    favourite_brand    VARCHAR,
    active_hour        INTEGER,
    active_weekday     VARCHAR,
    lifecycle          VARCHAR,
    price_band         VARCHAR,
    rfm_segment        VARCHAR,
    clv                DOUBLE,
    clv_band           VARCHAR,
    segment            INTEGER,
    computed_at        TIMESTAMPTZ NOT NULL
);
"""

_V5_SERVICE = """
CREATE TABLE api_keys (
    key_id     VARCHAR PRIMARY KEY,
    key_hash   VARCHAR NOT NULL,
    role       VARCHAR NOT NULL,
    name       VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_by VARCHAR,
    rate_limit DOUBLE
);
CREATE TABLE audit_log (
    seq       BIGINT NOT NULL,
    ts        TIMESTAMPTZ NOT NULL,
    principal VARCHAR NOT NULL,
    role      VARCHAR,
    action    VARCHAR NOT NULL,
    target    VARCHAR,
    outcome   VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL
);
"""

_V7_ITEM_ELIGIBILITY = """
CREATE TABLE item_eligibility (
    item_id    VARCHAR NOT NULL,
    eligible   BOOLEAN NOT NULL,
    reason     VARCHAR,
    source     VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
"""

_V4_ASSISTANT = """
CREATE TABLE conversations (
    conversation_id VARCHAR PRIMARY KEY,
    user_id         VARCHAR NOT NULL,
    language        VARCHAR,
    state           JSON,
    status          VARCHAR NOT NULL,
    handoff         BOOLEAN NOT NULL,
    summary         VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    assigned_agent  VARCHAR,
    CHECK (status IN ('open', 'handoff', 'closed'))
);
CREATE TABLE messages (
    conversation_id VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,
    role            VARCHAR NOT NULL,
    text            VARCHAR NOT NULL,
    intent          VARCHAR,
    confidence      DOUBLE,
    ts              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    CHECK (role IN ('customer', 'assistant', 'agent'))
);
CREATE TABLE faq (
    faq_id    VARCHAR NOT NULL,
    question  VARCHAR NOT NULL,
    answer    VARCHAR NOT NULL,
    language  VARCHAR NOT NULL,
    source    VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL
);
"""

_V3_RISK = """
CREATE TABLE risk_reviews (
    review_id  VARCHAR PRIMARY KEY,
    entity     VARCHAR NOT NULL,
    entity_id  VARCHAR NOT NULL,
    user_id    VARCHAR,
    score      DOUBLE NOT NULL,
    decision   VARCHAR NOT NULL,
    reasons    VARCHAR,
    status     VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    decided_by VARCHAR,
    decided_at TIMESTAMPTZ,
    note       VARCHAR,
    CHECK (status IN ('open', 'confirmed', 'cleared')),
    CHECK (decision IN ('allow', 'review', 'block'))
);
"""

_V10_REQUESTS_VAULT = """
CREATE TABLE vault (
    user_id    VARCHAR NOT NULL,
    field      VARCHAR NOT NULL,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    key_id     VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE privacy_requests (
    request_id   VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,
    subject_hash VARCHAR,
    requested_at TIMESTAMPTZ NOT NULL,
    principal    VARCHAR NOT NULL,
    rows_removed JSON,
    files        JSON,
    detail       JSON,
    CHECK (kind IN ('forget', 'export', 'retention'))
);
CREATE TABLE model_marks (
    path        VARCHAR NOT NULL,
    stale_since TIMESTAMPTZ NOT NULL,
    reason      VARCHAR NOT NULL,
    request_id  VARCHAR
);
CREATE TABLE audience_members (
    audience   VARCHAR NOT NULL,
    user_id    VARCHAR NOT NULL,
    rank       INTEGER NOT NULL,
    score      DOUBLE,
    source     VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE events_daily (
    day        DATE NOT NULL,
    event_type VARCHAR NOT NULL,
    events     BIGINT NOT NULL,
    users      BIGINT NOT NULL,
    quantity   DOUBLE,
    revenue    DOUBLE
);
CREATE TABLE user_history (
    user_id   VARCHAR NOT NULL,
    first_ts  TIMESTAMPTZ,
    last_ts   TIMESTAMPTZ,
    events    BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    revenue   DOUBLE
);
"""

_V9_PRIVACY_BUDGET = """
CREATE TABLE privacy_budget (
    budget_id     INTEGER PRIMARY KEY,
    epsilon_total DOUBLE NOT NULL,
    epsilon_spent DOUBLE NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    updated_by    VARCHAR NOT NULL,
    CHECK (budget_id = 1),
    CHECK (epsilon_total >= 0 AND epsilon_spent >= 0),
    CHECK (epsilon_spent <= epsilon_total + 1e-9)
);
INSERT INTO privacy_budget VALUES (1, 10.0, 0.0, now(), 'default');
CREATE TABLE privacy_ledger (
    release_id  VARCHAR PRIMARY KEY,
    ts          TIMESTAMPTZ NOT NULL,
    kind        VARCHAR NOT NULL,
    query       VARCHAR NOT NULL,
    epsilon     DOUBLE NOT NULL,
    delta       DOUBLE NOT NULL,
    mechanism   VARCHAR NOT NULL,
    noise_scale JSON NOT NULL,
    principal   VARCHAR NOT NULL,
    CHECK (epsilon > 0 AND delta >= 0)
);
"""

_V8_IDENTITY = """
CREATE TABLE identity_edges (
    kind     VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL,
    id_a     VARCHAR NOT NULL,
    id_b     VARCHAR NOT NULL,
    source   VARCHAR NOT NULL,
    used     BOOLEAN NOT NULL,
    note     VARCHAR,
    added_at TIMESTAMPTZ NOT NULL,
    CHECK (kind IN ('login', 'email', 'phone'))
);
CREATE TABLE persons (
    user_id    VARCHAR PRIMARY KEY,
    person_id  VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE identity_merges (
    merge_id       VARCHAR PRIMARY KEY,
    action         VARCHAR NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    person_id      VARCHAR,
    members_before JSON NOT NULL,
    members_after  JSON NOT NULL,
    reason         VARCHAR NOT NULL,
    forced         BOOLEAN NOT NULL,
    undone_at      TIMESTAMPTZ,
    undone_by      VARCHAR,
    blocking       BOOLEAN NOT NULL DEFAULT false,
    CHECK (action IN ('merge', 'split'))
);
"""

_V13_PAST_CAMPAIGNS = """
ALTER TABLE campaign_assignments ADD COLUMN cost DOUBLE;
ALTER TABLE campaign_assignments ADD COLUMN attributes JSON;
CREATE TABLE campaigns (
    campaign_id  VARCHAR PRIMARY KEY,
    control_arm  VARCHAR,
    source       VARCHAR NOT NULL,
    ingestion_id VARCHAR,
    loaded_at    TIMESTAMPTZ NOT NULL
);
"""

# Ids written as floats (266079.0) are read as whole numbers (266079) from 0.9.3 on. A
# workspace that already holds generic loads keeps the earlier reading: their stored ids and
# event keys were built from the float form, and mixing both would count rows twice.
_V14_SETTINGS = """
CREATE TABLE workspace_settings (
    name   VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL
);
INSERT INTO workspace_settings
SELECT 'whole_number_ids',
       CASE WHEN EXISTS (SELECT 1 FROM ingestions WHERE format IN ('generic', 'campaign'))
            THEN 'false' ELSE 'true' END,
       now();
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables", _V1_CANONICAL),
    Migration(2, "user profiles", _V2_PROFILES),
    Migration(3, "risk review queue", _V3_RISK),
    Migration(4, "assistant conversations, messages and FAQ", _V4_ASSISTANT),
    Migration(5, "api keys and audit trail", _V5_SERVICE),
    Migration(7, "item eligibility (non-product lines)", _V7_ITEM_ELIGIBILITY),
    Migration(8, "identity links, persons and merge history", _V8_IDENTITY),
    Migration(9, "differential privacy budget and release ledger", _V9_PRIVACY_BUDGET),
    Migration(10, "vault, privacy requests, model marks, audiences", _V10_REQUESTS_VAULT),
    Migration(13, "past campaigns: cost, covariates, control arm", _V13_PAST_CAMPAIGNS),
    Migration(14, "workspace settings (whole-number ids)", _V14_SETTINGS),
)

#: Schema version this shopmind writes.
SCHEMA_VERSION = max(m.version for m in MIGRATIONS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest applied migration, 0 for an empty database."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()
    if exists[0][0] == 0:
        return 0
    rows = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    return int(rows[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = []
    done = {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        if migration.version in done:  # versions may land out of order: apply each once
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
