"""``shopmind assistant ...``: intent model training and classification, conversations with
the customer-service assistant, agent replies, the FAQ."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stderr, stdout
from shopmind.cli.state import state

if TYPE_CHECKING:
    from shopmind.cli.state import State

app = typer.Typer(
    help="Customer-service assistant: intents (English and Chinese), answers from the shop's "
    "data, FAQ, handoff to a person.",
    no_args_is_help=True,
)
faq_app = typer.Typer(help="The FAQ the assistant answers from.", no_args_is_help=True)
app.add_typer(faq_app, name="faq")


def read_table(path: Path) -> Any:
    """A message file as strings: CSV, TSV/TAB, JSON lines (.json/.jsonl), CLINC150's object
    of splits (.json, with a ``split`` column) or Parquet. The delimiter of a CSV (``,``
    ``;`` ``|`` TAB: HWU64 uses ``;``) comes from its header line alone (free text fools
    sniffers), and no text becomes missing ("NA", "null" and "None" are messages too)."""
    import pandas as pd

    from shopmind.errors import ShopmindError

    if not path.exists():
        raise ShopmindError(f"File not found: {path}.", hint="Check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix == ".json" and (pairs := _split_pairs(path)) is not None:
            return pairs
        if suffix in {".json", ".jsonl", ".ndjson"}:
            return pd.read_json(path, lines=True, dtype=False)
        from shopmind.ingest.extract import guess_delimiter

        # the delimiter from the header line only (column names, not free text): HWU64 is ';'
        sep = "\t" if suffix in {".tsv", ".tab"} else guess_delimiter(path)
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ShopmindError(
            f"Cannot read {path}: {exc}.",
            hint="Use a CSV with a header (comma-separated), TSV, JSON lines or Parquet.",
        ) from exc


def _split_pairs(path: Path) -> Any:
    """CLINC150's layout (``data_full.json``): one object of splits, each a list of
    ``[text, intent]`` pairs, as columns ``text, intent, split``; None for other JSON."""
    import json

    import pandas as pd

    with path.open("rb") as handle:
        if not handle.read(1024).lstrip().startswith(b"{"):
            return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # JSON lines: one object per line
    if not isinstance(document, dict) or not document:
        return None
    rows = []
    for split, pairs in document.items():
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            return None
        rows += [(str(text), str(intent), split) for text, intent in pairs]
    return pd.DataFrame(rows, columns=["text", "intent", "split"])


def _without_test_splits(frame: Any) -> tuple[Any, list[str]]:
    """Rows of splits not named as test ones (``test``, ``oos_test``), and those names:
    a model is never trained on its own test set."""
    if "split" not in frame.columns:
        return frame, []
    held = sorted({s for s in frame["split"].astype(str).unique() if "test" in s.lower()})
    return frame[~frame["split"].astype(str).isin(held)], held


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(
            help="CSV or Parquet with messages and intents (default: the workspace's "
            "tickets plus agent-labelled messages)."
        ),
    ] = None,
    text_col: Annotated[str, typer.Option(help="Column with the message text.")] = "text",
    label_col: Annotated[str, typer.Option(help="Column with the intent.")] = "intent",
    oos_label: Annotated[
        str | None,
        typer.Option(
            help="Intent name meaning out of scope: rows with it are learnt as a class, "
            "and out-of-scope messages get it when classified."
        ),
    ] = None,
    encoder: Annotated[
        str, typer.Option(help="auto (by language), minilm, e5, or none (TF-IDF only).")
    ] = "auto",
    noise_weighting: Annotated[
        bool, typer.Option(help="Down-weight rows whose label looks wrong (noisy data).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train the intent model (logistic regressions over a C grid scored on validation,
    calibrated confidence, out-of-scope threshold); saved in the workspace."""
    from shopmind.assistant import training
    from shopmind.models.intent import IntentConfig

    ws = state(ctx).workspace
    held: list[str] = []
    if data is not None:
        frame, held = _without_test_splits(read_table(data))
        source = str(data)
    else:
        frame = training.workspace_training_data(ws)
        source, text_col, label_col = "workspace tickets", "text", "intent"
    if not ws.exists():
        ws.init()
    config = IntentConfig(
        encoder=encoder,
        oos_label=oos_label,
        noise_weighting=noise_weighting,
        seed=seed,
    )
    with stage_progress("assistant train", enabled=not as_json) as progress:
        model, path = training.train(ws, frame, text_col, label_col, source, config, progress)
    result = training.summary(model, path)
    if held:
        result["held_out_splits"] = held

    def render() -> None:
        print_table(
            f"intent model: {path}",
            [
                "rows",
                "intents",
                "encoders",
                "settings",
                "validation accuracy",
                "threshold",
                "seconds",
            ],
            [
                [
                    result["rows"],
                    result["intents"],
                    ",".join(result["encoders"]) or "none",
                    len(result["settings"]),
                    round(result["validation_accuracy"], 4),
                    result["out_of_scope"].get("threshold", "-"),
                    result["train_seconds"],
                ]
            ],
        )
        oos = result["out_of_scope"]
        if "in_scope_accuracy" in oos:
            stdout.print(
                f"at the chosen threshold (validation): in-scope accuracy "
                f"{oos['in_scope_accuracy']:.3f}, out-of-scope recall {oos['oos_recall']:.3f} "
                f"({oos['method']})",
                highlight=False,
            )
        if held:
            stdout.print(f"not trained on the file's {', '.join(held)} rows", highlight=False)
        for warning in result.get("warnings", []):
            stderr.print(f"warning: {warning}", highlight=False)

    emit(result, as_json, render)


@app.command()
def classify(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="CSV or Parquet with the messages.")],
    out: Annotated[Path, typer.Option(help="CSV to write: row,intent,confidence,...")],
    text_col: Annotated[str, typer.Option(help="Column with the message text.")] = "text",
    as_json: JsonOption = False,
) -> None:
    """Intent and calibrated confidence for every input row, in input order."""
    from shopmind.assistant import training

    frame = read_table(data)
    result = training.classify(state(ctx).workspace, frame, text_col, str(data))
    if "split" in frame.columns and "split" not in result.columns:
        result["split"] = frame["split"].to_numpy()  # to score a split (e.g. CLINC's test)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    summary: dict[str, Any] = {
        "out": str(out),
        "rows": len(result),
        "out_of_scope": int(result["out_of_scope"].sum()) if len(result) else 0,
        "empty_messages": int(frame[text_col].fillna("").astype(str).str.strip().eq("").sum()),
        "intents": result["intent"].value_counts().head(10).to_dict() if len(result) else {},
    }
    emit(
        summary,
        as_json,
        lambda: stdout.print(
            f"wrote {out}: {len(result):,} rows"
            + (
                f" ({summary['empty_messages']:,} empty messages: out of scope, confidence 0)"
                if summary["empty_messages"]
                else ""
            ),
            highlight=False,
        ),
    )


@app.command()
def ask(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    conversation: Annotated[str, typer.Option(help="Conversation id (new ids start one).")],
    user: Annotated[
        str | None,
        typer.Option(help="The customer's user id (needed to start a conversation)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer one customer message: reply, intent, confidence, handoff."""
    from shopmind.assistant.engine import Assistant

    st = state(ctx)
    stored = None if user is None else _stored_user(st, user)
    with Assistant.open(st.workspace) as assistant:
        reply = assistant.ask(conversation, text, stored)

    def render() -> None:
        stdout.print(f"reply: {reply.reply}", highlight=False)
        stdout.print(f"intent: {reply.intent}", highlight=False)
        stdout.print(f"confidence: {reply.confidence:.3f}", highlight=False)
        stdout.print(f"handoff: {str(reply.handoff).lower()}", highlight=False)
        if reply.summary:
            stdout.print(f"summary: {reply.summary}", highlight=False)

    emit(reply.to_dict(), as_json, render)


@app.command()
def reply(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The agent's reply.")],
    conversation: Annotated[str, typer.Option(help="Conversation id.")],
    agent: Annotated[str, typer.Option(help="The agent's name or id.")],
    intent: Annotated[
        str | None,
        typer.Option(help="Intent of the customer's last message (stored as training data)."),
    ] = None,
    release: Annotated[
        bool, typer.Option(help="Give the conversation back to the assistant.")
    ] = False,
    close: Annotated[bool, typer.Option(help="Close the conversation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Store an agent's reply in a conversation (redacted like every message)."""
    from shopmind.assistant.engine import Assistant

    with Assistant.open(state(ctx).workspace) as assistant:
        result = assistant.agent_reply(conversation, agent, text, intent, release, close)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"stored reply {result['seq']} in {conversation}; status {result['status']}",
            highlight=False,
        ),
    )


@app.command()
def show(
    ctx: typer.Context,
    conversation: Annotated[str, typer.Option(help="Conversation id.")],
    as_json: JsonOption = False,
) -> None:
    """One conversation: state, handoff summary and messages (as stored, redacted)."""
    from shopmind.assistant.engine import Assistant

    with Assistant.open(state(ctx).workspace) as assistant:
        result = assistant.conversation(conversation)

    def render() -> None:
        stdout.print(
            f"{result['conversation_id']} user {result['user_id']} status {result['status']}"
            + (f"\nsummary: {result['summary']}" if result["summary"] else ""),
            highlight=False,
        )
        print_table(
            None,
            ["seq", "role", "text", "intent", "confidence"],
            [
                [m["seq"], m["role"], m["text"], m["intent"], m["confidence"]]
                for m in result["messages"]
            ],
        )

    emit(result, as_json, render)


@app.command()
def conversations(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only this status: open, handoff or closed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Conversations, newest first (the handoff queue with --status handoff)."""
    from shopmind.assistant import store

    with state(ctx).workspace.connect(read_only=True) as con:
        rows = store.list_conversations(con, status, limit)
    emit(
        rows,
        as_json,
        lambda: print_table(
            None,
            ["conversation", "user", "status", "summary", "agent", "updated"],
            [
                [
                    r["conversation_id"],
                    r["user_id"],
                    r["status"],
                    r["summary"],
                    r["assigned_agent"],
                    r["updated_at"],
                ]
                for r in rows
            ],
        ),
    )


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="CSV to write: text,intent,reply.")],
    as_json: JsonOption = False,
) -> None:
    """Agent-labelled customer messages with the agent's reply, as training data."""
    import pandas as pd

    from shopmind.assistant import store

    with state(ctx).workspace.connect(read_only=True) as con:
        pairs = pd.DataFrame(
            store.training_pairs(con), columns=["conversation_id", "seq", "text", "intent", "reply"]
        )
    pairs[["text", "intent", "reply"]].to_csv(out, index=False)
    summary = {"out": str(out), "rows": len(pairs), "labelled": int(pairs["intent"].notna().sum())}
    emit(
        summary, as_json, lambda: stdout.print(f"wrote {out}: {len(pairs):,} rows", highlight=False)
    )


@faq_app.command("load")
def faq_load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV/Parquet with question, answer[, language].")],
    append: Annotated[
        bool, typer.Option(help="Keep entries loaded before from the same file.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load FAQ entries into the workspace (reloading a file replaces its entries)."""
    from shopmind.assistant.faq import load_faq

    ws = state(ctx).workspace
    frame = read_table(file)
    if not ws.exists():
        ws.init()
    with ws.connect() as con:
        from shopmind.store.migrations import migrate

        migrate(con)
        result = load_faq(con, frame, file.name, replace=not append)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"loaded {result['loaded']} FAQ entries from {file} ({result['languages']})",
            highlight=False,
        ),
    )


@faq_app.command("search")
def faq_search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="A question.")],
    k: Annotated[int, typer.Option(min=1, max=50, help="How many answers.")] = 3,
    as_json: JsonOption = False,
) -> None:
    """The best FAQ answers for a question, with scores."""
    from shopmind.assistant.faq import FaqIndex
    from shopmind.models.intent import check_texts

    text = check_texts([text], what="question")[0]
    with state(ctx).workspace.connect(read_only=True) as con:
        hits = FaqIndex.from_workspace(con).search(text, k)
    rows = [{"question": h.question, "answer": h.answer, "score": h.score} for h in hits]
    emit(
        rows,
        as_json,
        lambda: print_table(
            None,
            ["score", "question", "answer"],
            [[r["score"], r["question"], r["answer"]] for r in rows],
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="assistant")


def _stored_user(st: State, user: str) -> str:
    """The customer's id as the workspace stores them (``store.erasure.stored_id_for``, the
    rule the API uses too); before any workspace exists, their pseudonym when a key is set.
    A workspace that has loaded no data yet (only an intent model) gets its own key, as its
    first ingest would, so a conversation can start there without a raw id being stored."""
    from shopmind.cli.ingest import workspace_key
    from shopmind.privacy import pseudonymize
    from shopmind.store.erasure import ids_are_pseudonyms, stored_id_for

    workspace, settings = st.workspace, st.settings
    key = settings.optional_key(workspace.root)
    if not workspace.exists():
        return pseudonymize(user, key) if key else user
    if key is None:
        with workspace.connect(read_only=True) as con:
            unloaded = ids_are_pseudonyms(con) is None
        if unloaded:
            key = workspace_key(st, required=False)
    with workspace.connect(read_only=True) as con:
        return stored_id_for(con, user, key)
