"""Raw personal data sent to the assistant never reaches the workspace: every table and the
DuckDB file's bytes are scanned for the e-mail addresses and phone numbers sent."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopmind.assistant.engine import Assistant, AssistantConfig
from shopmind.serving.routes import assistant as assistant_routes
from shopmind.store import Workspace

SECRETS = [
    "john.doe@example.com",
    "li.lei+shop@163.com",
    "13912345678",
    "+86 139 1234 5678",
    "+44 20 7946 0958",
    "(415) 555-0100",
    "415-555-0100",
    "11010519491231002X",
    "4111 1111 1111 1111",
]


def _user(ws: Workspace) -> str:
    with ws.connect(read_only=True) as con:
        return str(con.execute("SELECT min(user_id) FROM orders").fetchone()[0])


def test_stored_conversations_hold_no_raw_pii(shop: Workspace) -> None:
    user = _user(shop)
    messages = [
        "My e-mail is john.doe@example.com, call me on 13912345678 about my order",
        "我的手机号是+86 139 1234 5678，邮箱li.lei+shop@163.com，订单到哪了",
        "UK number +44 20 7946 0958 or US (415) 555-0100 / 415-555-0100",
        "身份证11010519491231002X，银行卡4111 1111 1111 1111，我要退款",
        "I want to talk to a human, john.doe@example.com",  # handoff: summary is stored too
    ]
    with Assistant.open(shop, config=AssistantConfig(faq_embeddings=False)) as assistant:
        for text in messages:
            assistant.ask("p1", text, user)
        assistant.agent_reply("p1", "agent-7", "I'll call you on 13912345678 or (415) 555-0100")
        app = FastAPI()
        app.include_router(assistant_routes.router, prefix="/v1")
        assistant_routes.install(app, assistant=assistant)
        client = TestClient(app)
        response = client.post(
            "/v1/assistant/messages",
            json={"conversation_id": "p2", "user_id": user, "text": "mail li.lei+shop@163.com"},
        )
        assert response.status_code == 200
        stored = assistant.conversation("p1")
        assert any("<EMAIL>" in m["text"] for m in stored["messages"])
        assert any("<PHONE>" in m["text"] for m in stored["messages"])
        assert stored["handoff"] and "<EMAIL>" in stored["summary"]
        con = assistant.connection()
        for table in ("conversations", "messages"):
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            text = "\n".join(str(v) for row in rows for v in row)
            for secret in SECRETS:
                assert secret not in text, f"{secret!r} stored in {table}"
        con.execute("CHECKPOINT")
    files = [shop.db_path, *shop.root.glob("*.wal")]
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le"):
                assert secret.encode(encoding) not in data, f"{secret!r} in {path.name}"
