"""Read-only SQL that users write: one query, checked with DuckDB's own parser, run on a
sandboxed connection.

Two independent locks, so one mistake does not open a hole:

1. Before anything runs, :func:`check_read_only` parses the text with DuckDB
   (``extract_statements`` for the statement kind, ``json_serialize_sql`` for the tree of a
   query) and refuses, with a message per kind, everything that is not one read query:
   COPY, EXPORT/IMPORT DATABASE, INSTALL/LOAD, ATTACH/DETACH, SET/RESET/PRAGMA/USE, writes and
   DDL, CALL, several statements, table functions outside a small allow-list (which shuts out
   ``read_csv``, ``read_text``, ``glob``, ``query`` ...) and file paths used as tables.
   Comments, quoting and letter case cannot hide anything: the parser has already removed them.
2. The query then runs on :meth:`Workspace.connect` with ``sandboxed=True``: the workspace is
   attached read-only and the configuration is locked with external access off, so even a
   statement the checker missed cannot touch a file, the network or a setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from shopmind.errors import QueryError, QueryRefusedError
from shopmind.store.workspace import CANONICAL_TABLES, Workspace

#: Table functions a read query may use: generators and catalogue views, none touches a file.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_functions",
        "duckdb_indexes",
        "duckdb_keywords",
        "duckdb_schemas",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_views",
        "pragma_table_info",
        "pragma_show",
        "pragma_version",
        "json_each",
        "json_tree",
    }
)

#: Scalar functions refused although they read no file: they write DuckDB's log.
DENIED_SCALAR_FUNCTIONS = frozenset({"write_log"})

_READ_HINT = (
    "Only one read query (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE) on the "
    "workspace's tables can run."
)
_SAVE_HINT = "To save results, redirect the output: `shopmind sql --json 'SELECT ...' > out.json`."
_WRITE_HINT = "Change data with `shopmind ingest`. " + _READ_HINT
_SETTINGS_HINT = (
    "Settings of the query connection are locked. Inspect tables with DESCRIBE events or "
    "SELECT * FROM duckdb_tables()."
)

#: First keyword of a statement -> (what it does, hint). Anything not listed and not a
#: query is refused with a generic message.
_REFUSALS: dict[str, tuple[str, str]] = {
    "COPY": ("COPY reads or writes files", _SAVE_HINT),
    "EXPORT": ("EXPORT DATABASE writes files", _SAVE_HINT),
    "IMPORT": ("IMPORT DATABASE reads files and changes the workspace", _WRITE_HINT),
    "INSTALL": ("INSTALL downloads an extension", _READ_HINT),
    "FORCE": ("FORCE INSTALL downloads an extension", _READ_HINT),
    "LOAD": ("LOAD loads an extension", _READ_HINT),
    "ATTACH": ("ATTACH opens another database file", "Only the workspace can be queried."),
    "DETACH": ("DETACH changes the attached databases", "Only the workspace can be queried."),
    "SET": ("SET changes a setting", _SETTINGS_HINT),
    "RESET": ("RESET changes a setting", _SETTINGS_HINT),
    "PRAGMA": ("PRAGMA runs a database command", _SETTINGS_HINT),
    "USE": ("USE changes the current database", "Only the workspace can be queried."),
    "CALL": ("CALL runs a procedure", "Use SELECT * FROM <function>(...) for allowed functions."),
    "CHECKPOINT": ("CHECKPOINT writes the database", _READ_HINT),
    "FORCE_CHECKPOINT": ("CHECKPOINT writes the database", _READ_HINT),
    "VACUUM": ("VACUUM rewrites the database", _READ_HINT),
    "ANALYZE": ("ANALYZE updates statistics", _READ_HINT),
    "CREATE": ("CREATE changes the workspace", _WRITE_HINT),
    "INSERT": ("INSERT changes the workspace", _WRITE_HINT),
    "UPDATE": ("UPDATE changes the workspace", _WRITE_HINT),
    "DELETE": ("DELETE changes the workspace", _WRITE_HINT),
    "TRUNCATE": ("TRUNCATE changes the workspace", _WRITE_HINT),
    "MERGE": ("MERGE changes the workspace", _WRITE_HINT),
    "DROP": ("DROP changes the workspace", _WRITE_HINT),
    "ALTER": ("ALTER changes the workspace", _WRITE_HINT),
    "COMMENT": ("COMMENT ON changes the workspace", _WRITE_HINT),
    "EXPLAIN": ("EXPLAIN is not supported here", _READ_HINT),
    "PREPARE": ("PREPARE is not supported here", _READ_HINT),
    "EXECUTE": ("EXECUTE is not supported here", _READ_HINT),
    "DEALLOCATE": ("DEALLOCATE is not supported here", _READ_HINT),
    "BEGIN": ("transactions are not supported here", _READ_HINT),
    "START": ("transactions are not supported here", _READ_HINT),
    "COMMIT": ("transactions are not supported here", _READ_HINT),
    "END": ("transactions are not supported here", _READ_HINT),
    "ROLLBACK": ("transactions are not supported here", _READ_HINT),
    "ABORT": ("transactions are not supported here", _READ_HINT),
    "PIVOT": ("PIVOT statements create types first", "Use a GROUP BY with FILTER clauses."),
    "UNPIVOT": ("UNPIVOT statements create types first", "Use UNION ALL or unnest()."),
}

#: Characters that make a table name a file path or pattern (DuckDB reads ``FROM 'x.csv'``).
_PATH_CHARS = frozenset("/\\.:~*?[")


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a query; ``truncated`` when more rows existed than the limit."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run_read_only(workspace: Workspace, sql: str, limit: int | None = None) -> QueryResult:
    """Run one user-written read query on ``workspace``; at most ``limit`` rows come back.

    Raises :class:`QueryRefusedError` (before anything runs) for anything but one read query,
    :class:`QueryError` when the query fails, :class:`WorkspaceError` when the workspace
    cannot be opened.
    """
    if limit is not None and limit < 0:
        raise QueryError(f"limit must be 0 or more, got {limit}.", hint="Pass a row count.")
    statement = check_read_only(sql)
    with workspace.connect(sandboxed=True) as con:
        try:
            cursor = con.execute(statement)
            if cursor.description is None:
                return QueryResult([], [])
            columns = [d[0] for d in cursor.description]
            if limit is None:
                return QueryResult(columns, cursor.fetchall())
            rows = cursor.fetchmany(limit + 1)
        except duckdb.OutOfMemoryException as exc:
            raise QueryError(
                f"The query ran out of memory: {_first_line(exc)}",
                hint="Aggregate or filter more (GROUP BY, WHERE, LIMIT) so that less is held "
                "at once, or run it on a machine with more memory.",
            ) from exc
        except duckdb.PermissionException as exc:  # the sandbox caught what the parser missed
            raise QueryRefusedError(
                f"Refused: the query tried to reach outside the workspace ({_first_line(exc)}).",
                statement="external access",
                hint=_READ_HINT,
            ) from exc
        except duckdb.Error as exc:
            raise QueryError(
                f"Query failed: {_first_line(exc)}",
                hint="Tables: " + ", ".join(CANONICAL_TABLES) + " (see docs/schema.md).",
            ) from exc
    return QueryResult(columns, rows[:limit], truncated=len(rows) > limit)


def check_read_only(sql: str) -> str:
    """The text of the one read query in ``sql``; QueryRefusedError for anything else."""
    if not sql.strip():
        raise QueryRefusedError(
            "No SQL given: the query is empty.",
            statement="empty",
            hint='Pass one query, e.g. `shopmind sql "SELECT count(*) FROM events"`.',
        )
    # DuckDB's parser runs some statements' side effects (IMPORT DATABASE reads files):
    # refuse by the leading keywords of the ;-separated parts before parsing anything.
    leading = _leading_keywords(sql)
    if len(leading) > 1:
        raise QueryRefusedError(
            f"Refused: {len(leading)} statements given ({', '.join(k or '?' for k in leading)}); "
            "only one query may run.",
            statement="multiple",
            hint="Send one statement, without `;` separating others.",
        )
    if leading and leading[0] in _REFUSALS:
        what, hint = _REFUSALS[leading[0]]
        raise QueryRefusedError(
            f"Refused: {what}; `shopmind sql` is read-only.", statement=leading[0], hint=hint
        )
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(
            f"Query failed: {_first_line(exc)}", hint="Check the SQL syntax (DuckDB dialect)."
        ) from exc
    if not statements:
        raise QueryRefusedError(
            "No SQL given: the text holds only comments.",
            statement="empty",
            hint='Pass one query, e.g. `shopmind sql "SELECT count(*) FROM events"`.',
        )
    if len(statements) > 1:
        kinds = ", ".join(_keyword(s.query) or "?" for s in statements)
        raise QueryRefusedError(
            f"Refused: {len(statements)} statements given ({kinds}); only one query may run.",
            statement="multiple",
            hint="Send one statement, without `;` separating others.",
        )
    statement = statements[0]
    keyword = _keyword(statement.query)
    if _is_select(statement) is not True:
        what, hint = _REFUSALS.get(keyword, (f"{keyword or 'this'} statement is not a query", ""))
        raise QueryRefusedError(
            f"Refused: {what}; `shopmind sql` is read-only.",
            statement=keyword or "unknown",
            hint=hint or _READ_HINT,
        )
    _check_tree(statement.query)
    return statement.query


def _check_tree(query: str) -> None:
    """Walk DuckDB's parse tree of one SELECT; refuse file access and unknown table functions."""
    con = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
        },
    )
    try:
        row = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [query]).fetchone()
    except duckdb.Error as exc:  # fail closed: what cannot be checked does not run
        row = (json.dumps({"error": True, "error_message": _first_line(exc)}),)
    finally:
        con.close()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no result"}
    if tree.get("error"):
        raise QueryRefusedError(
            f"Refused: the query cannot be checked ({tree.get('error_message', 'unknown')}).",
            statement="unchecked",
            hint=_READ_HINT,
        )
    for node in _nodes(tree):
        kind = node.get("type")
        if not isinstance(kind, str):  # e.g. a serialised LogicalType of a cast
            kind = None
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            if (
                name not in ALLOWED_TABLE_FUNCTIONS
                or function.get("schema")
                or function.get("catalog")
            ):
                raise _function_refused(name, table=True)
        elif node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in DENIED_SCALAR_FUNCTIONS or name.startswith("__internal"):
                raise _function_refused(name, table=False)
        if kind in {"BASE_TABLE", "SHOW_REF"}:
            name = str(node.get("table_name") or "")
            if any(ch in _PATH_CHARS for ch in name):
                raise QueryRefusedError(
                    f"Refused: '{name}' names a file, and queries may not read files.",
                    statement="file read",
                    hint="Load files with `shopmind ingest FILE`, then query the tables. "
                    + _READ_HINT,
                )


def _function_refused(name: str, *, table: bool) -> QueryRefusedError:
    reads_files = name.startswith(("read_", "parquet_", "sniff_", "glob")) or name in {
        "query",
        "query_table",
    }
    if reads_files:
        what = f"{name}() reads files or runs other SQL"
        hint = "Load files with `shopmind ingest FILE`, then query the tables."
    elif table:
        what = f"table function {name}() is not allowed"
        hint = "Allowed table functions: " + ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS)) + "."
    else:
        what = f"function {name}() is not allowed"
        hint = _READ_HINT
    return QueryRefusedError(
        f"Refused: {what}; `shopmind sql` queries only the workspace.",
        statement=f"function {name}",
        hint=hint,
    )


def _is_select(statement: Any) -> bool | None:
    """Whether DuckDB parsed ``statement`` as a query; None for kinds the Python API cannot
    name (it raises ValueError for them, e.g. UPDATE EXTENSIONS)."""
    try:
        return bool(statement.type == duckdb.StatementType.SELECT)
    except ValueError:
        return None


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a parse tree, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _leading_keywords(sql: str) -> list[str]:
    """The first keyword of each non-empty ``;``-separated statement in ``sql`` (upper case),
    from DuckDB's tokenizer (comments and strings cannot fake a separator)."""
    try:
        tokens = duckdb.tokenize(sql)
    except duckdb.Error:
        return []
    keywords: list[str] = []
    first: str | None = None
    for i, (start, kind) in enumerate(tokens):
        if kind == duckdb.token_type.comment:
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(sql)
        text = sql[start:end].strip()
        if kind == duckdb.token_type.operator and text.startswith(";"):
            if first is not None:
                keywords.append(first)
            first = None
            rest = text[1:].strip()
            if not rest:
                continue
            text = rest
        if first is None and text:
            first = text.split()[0].upper()
    if first is not None:
        keywords.append(first)
    return keywords


def _keyword(sql: str) -> str:
    """The first keyword of ``sql`` (upper case), found with DuckDB's tokenizer so that
    comments and letter case do not matter; '' when there is none."""
    try:
        tokens = duckdb.tokenize(sql)
    except duckdb.Error:
        return ""
    for i, (start, kind) in enumerate(tokens):
        if kind == duckdb.token_type.comment:
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(sql)
        word = sql[start:end].strip().upper()
        return word.split()[0] if word.split() else ""
    return ""


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
