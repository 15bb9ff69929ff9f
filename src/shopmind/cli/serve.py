"""``shopmind serve``: the one secured API under uvicorn (127.0.0.1 by default)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from shopmind.cli._output import stderr
from shopmind.cli.state import state
from shopmind.store import Workspace

#: The longest request line plus headers parsed (bytes). uvicorn's h11 default (16 KiB) is
#: checked only while a head is still arriving, so a 60 KB URL got the application's 422
#: when it came in one read and a bare 400 plus a reset connection when it came in two.
MAX_REQUEST_HEAD_BYTES = 256 * 1024


class Pseudonymize(StrEnum):
    auto = "auto"
    on = "on"
    off = "off"


def _workspace_pseudonymises(workspace: Workspace) -> bool:
    """Whether the latest event load pseudonymised user ids (True for a new workspace)."""
    from shopmind.store.info import events_pseudonymized

    with workspace.connect(read_only=True) as con:
        return events_pseudonymized(con)


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, exiting 0 after a graceful stop on SIGTERM/SIGINT (uvicorn
        re-raises the signal, which would skip the clean-up after ``run``)."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            signals = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    model: Annotated[str | None, typer.Option(help="Model name (default: the chosen one).")] = None,
    rate_limit: Annotated[
        float, typer.Option(help="Requests per second per API key (0: no limit).")
    ] = 1000.0,
    max_body: Annotated[int, typer.Option(help="Largest request body in bytes.")] = 1 << 20,
    max_pending_events: Annotated[
        int, typer.Option(help="Events waiting to be written before 503s.")
    ] = 50_000,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(help="Allow browser calls from this origin (repeatable; none by default)."),
    ] = None,
    pseudonymize: Annotated[
        Pseudonymize,
        typer.Option(help="User ids of posted events: auto follows the workspace's last load."),
    ] = Pseudonymize.auto,
) -> None:
    """Serve the API: recommendations, events, sessions, analytics, admin (and risk and the
    assistant when installed) under /v1 with API keys (`shopmind keys create`); /health and
    /docs are open. The service holds the workspace while it runs; stop it with SIGTERM
    (Ctrl-C): pending events are written before it exits."""
    import uvicorn

    _Server = _server_class()
    from shopmind.serving import runfile
    from shopmind.serving.app import create_app
    from shopmind.serving.service import ServeOptions, Service
    from shopmind.store.audit import AuditEntry, cli_principal

    st = state(ctx)
    workspace = st.workspace
    blocked = runfile.service_error(workspace, "Use the running service")
    if blocked is not None:
        raise blocked
    _check_port(host, port)  # before "serving ..." is said and the workspace is held
    if not workspace.exists():  # a first start: the console's home page says how to load data
        workspace.init()
        stderr.print(
            f"note: created an empty workspace at {workspace.root}; load data with "
            "`shopmind ingest FILE --format NAME` or `shopmind simulate` (the console at / "
            "says how).",
            highlight=False,
        )
    on = pseudonymize is Pseudonymize.on or (
        pseudonymize is Pseudonymize.auto and _workspace_pseudonymises(workspace)
    )
    key = st.settings.pseudonymization_key(workspace.root) if on else None
    options = ServeOptions(
        model=model,
        pseudonymize_key=key,
        rate_limit=rate_limit,
        max_body_bytes=max_body,
        max_pending_events=max_pending_events,
        cors_origins=tuple(cors_origin or ()),
        console_idle_minutes=st.settings.console_idle_minutes,
        vault_key=st.settings.vault_key.get_secret_value() if st.settings.vault_key else None,
        # the key the CLI pseudonymises audit targets and derives the vault key with, also
        # when posted ids are stored as given (docs/privacy.md: the vault)
        workspace_key=key if key is not None else st.settings.optional_key(workspace.root),
    )
    service = Service(workspace, options)
    service.writer.audit(
        AuditEntry(cli_principal(), "local", "serve start", f"{host}:{port}", "ok")
    )
    if service.recommending is None:
        stderr.print(
            "note: no recommender trained; recommendation routes answer 503 until "
            "`shopmind recommend train` and a restart.",
            highlight=False,
        )
    name = service.recommending.model.name if service.recommending else "no model"
    stderr.print(
        f"serving {name} on http://{host}:{port} (web console at /, API docs at /docs)",
        highlight=False,
    )
    runfile.write(workspace, host, port)
    try:
        config = uvicorn.Config(
            create_app(service),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=30,
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        )
        _Server(config).run()
    finally:
        runfile.remove(workspace)
        service.close()  # a no-op after a normal shutdown (the app's lifespan closed it)


def register(root: typer.Typer) -> None:
    root.command()(serve)


def _check_port(host: str, port: int) -> None:
    """Refuse a port this machine cannot listen on (in use, or privileged) with one line and
    the fix, instead of uvicorn's log line and exit 3 after "serving ..."."""
    import socket

    from shopmind.errors import ShopmindError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ShopmindError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                hint="Pick a free port with --port (e.g. --port 8001) or stop the program "
                "that uses it.",
            ) from None
