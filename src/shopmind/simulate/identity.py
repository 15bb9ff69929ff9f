"""Planted cross-platform persons for ``shopmind simulate --identity SHARE``.

A share of the organic users also holds 1 or 2 more accounts on other platforms (web, app,
mini_program, store); part of their sessions (and the orders in them) move to those
accounts, with ``events.source`` set to the account's platform. Each extra account carries
one kind of evidence: the same e-mail written differently (40%), only the same phone in
another format (30%: ``+86 139-1234-5678`` vs ``13912345678``), a login link (20%, in
``identity_links.csv``) or nothing (10%, not findable). Hard negatives: households (two
different people sharing one phone, 3% of users) and placeholder contacts (2%: e-mails such
as ``test@test.com``, front-desk e-mails shared by six store accounts, the phone
``13800138000``). The truth is the ``person`` label (source ``simulator``) of every account
of a planted person; everyone else is their own person.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # shop.py calls this module: no import at run time
    from shopmind.simulate.shop import SimulatedShop

PLATFORMS = ("web", "app", "mini_program", "store")
_PREFIX = {"web": "w", "app": "a", "mini_program": "mp", "store": "st"}
_DEVICE = {"web": "desktop", "app": "mobile", "mini_program": "mobile", "store": "in_store"}
EVIDENCE = ("email", "phone", "login", "none")
_EVIDENCE_P = (0.4, 0.3, 0.2, 0.1)
HOUSEHOLD_SHARE = 0.03
PLACEHOLDER_SHARE = 0.02
_PLACEHOLDER_EMAILS = ("test@test.com", "noemail@example.com", "none@none.com")


def plant_identities(shop: SimulatedShop, share: float) -> SimulatedShop:
    """The shop with planted multi-account persons and hard negatives (deterministic)."""
    rng = np.random.default_rng([shop.config.seed, 15, 7])
    n = shop.config.users
    users = shop.users.copy()
    emails = users["email"].to_numpy(dtype=object, copy=True)
    phones = users["phone"].to_numpy(dtype=object, copy=True)
    chosen = np.sort(rng.choice(n, size=round(share * n), replace=False))
    new_users: list[dict[str, Any]] = []
    links: list[tuple[str, str]] = []
    person_of: dict[str, str] = {}
    account_of_session: dict[str, str] = {}
    platform_of: dict[str, str] = {}
    evidence_count = dict.fromkeys(EVIDENCE, 0)
    sessions = shop.events[shop.events["source"] != "email"].groupby("user_id")["session_id"]
    sessions_of = {u: sorted(set(s)) for u, s in sessions}
    for index in chosen:
        base = users.iloc[index]
        home = "app" if base["device"] == "mobile" else "web"
        phone = _mobile(rng) if base["country"] == "CN" else str(base["phone"])
        phones[index] = phone
        extra = 1 if rng.random() < 0.7 else 2
        platforms = rng.choice([p for p in PLATFORMS if p != home], size=extra, replace=False)
        accounts = [str(base["user_id"])]
        for platform in platforms:
            account = f"{_PREFIX[str(platform)]}{len(new_users):07d}"
            evidence = str(rng.choice(EVIDENCE, p=_EVIDENCE_P))
            evidence_count[evidence] += 1
            email, alt_phone = _contacts(evidence, str(base["email"]), phone, account, rng)
            if evidence == "login":
                links.append((accounts[int(rng.integers(len(accounts)))], account))
            new_users.append(
                {
                    **base.to_dict(),
                    "user_id": account,
                    "signup_ts": base["signup_ts"] + pd.Timedelta(days=float(rng.uniform(1, 60))),
                    "email": email,
                    "phone": alt_phone,
                    "device": _DEVICE[str(platform)],
                }
            )
            platform_of[account] = str(platform)
            accounts.append(account)
        for user in accounts:
            person_of[user] = f"person_{base['user_id']}"
        owned = sessions_of.get(str(base["user_id"]), [])
        if owned:
            picks = rng.choice(len(accounts), size=len(owned), p=_split(len(accounts)))
            account_of_session.update(
                {s: accounts[p] for s, p in zip(owned, picks, strict=True) if p > 0}
            )
    households, placeholders = _hard_negatives(emails, phones, n, rng)
    users["email"], users["phone"] = emails, phones
    users = pd.concat([users, pd.DataFrame(new_users, columns=users.columns)], ignore_index=True)
    events = shop.events.copy()
    moved = events["session_id"].map(account_of_session)
    mask = moved.notna().to_numpy() & (events["source"] != "email").to_numpy()
    events.loc[mask, "user_id"] = moved[mask]
    events.loc[mask, "source"] = moved[mask].map(platform_of)
    owner = events[events["event_type"] == "purchase"].groupby("order_id")["user_id"].first()
    orders = shop.orders.copy()
    orders["user_id"] = orders["order_id"].map(owner).fillna(orders["user_id"])
    orders["source"] = orders["order_id"].map(
        events[events["event_type"] == "purchase"].groupby("order_id")["source"].first()
    )
    tickets = shop.tickets.copy()
    tickets["user_id"] = tickets["order_id"].map(owner).fillna(tickets["user_id"])
    labels = _labels(shop.labels, new_users, person_of)
    truth = dict(shop.truth)
    truth["identity"] = {
        "persons": len(chosen),
        "extra_accounts": len(new_users),
        "evidence": evidence_count,
        "login_links": len(links),
        "households": households,
        "placeholder_users": placeholders,
        "moved_sessions": len(account_of_session),
        "truth": "labels: subject_type user, name person, source simulator",
    }
    return replace(
        shop,
        events=events,
        users=users,
        orders=orders,
        tickets=tickets,
        labels=labels,
        truth=truth,
        identity_links=pd.DataFrame(links, columns=["id_a", "id_b"]),
    )


def _split(k: int) -> list[float]:
    """Share of a person's sessions per account: half stay on the first."""
    return [0.5] + [0.5 / (k - 1)] * (k - 1)


def _mobile(rng: np.random.Generator) -> str:
    digits = f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}"
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def _phone_variant(phone: str, rng: np.random.Generator) -> str:
    """The same number written another way (normalised to one hash at ingest)."""
    digits = phone.replace(" ", "")
    if digits.startswith("1") and len(digits) == 11:
        forms = [f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}", digits, f"0086{digits}"]
    else:
        forms = [digits, digits.replace("+44", "+44-", 1), f"({digits[:3]}) {digits[3:]}"]
    return str(forms[int(rng.integers(len(forms)))])


def _contacts(
    evidence: str, email: str, phone: str, account: str, rng: np.random.Generator
) -> tuple[str | None, str | None]:
    """(e-mail, phone) of an extra account carrying one kind of evidence."""
    own = f"{account}@mail.example.cn"
    if evidence == "email":
        variant = email.upper() if rng.random() < 0.5 else f" {email.capitalize()} "
        return variant, None
    if evidence == "phone":
        return None, _phone_variant(phone, rng)
    return own, None


def _hard_negatives(
    emails: np.ndarray, phones: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[int, int]:
    """Households sharing a phone and placeholder contacts, in place; returns their counts."""
    pairs = round(HOUSEHOLD_SHARE * n / 2)
    members = rng.choice(n, size=2 * pairs, replace=False).reshape(-1, 2)
    for a, b in members:
        phones[b] = phones[a]
    count = round(PLACEHOLDER_SHARE * n)
    chosen = rng.choice(n, size=count, replace=False)
    for i, user in enumerate(chosen):
        kind = i % 3
        if kind == 0:
            emails[user] = _PLACEHOLDER_EMAILS[(i // 3) % len(_PLACEHOLDER_EMAILS)]
        elif kind == 1:
            emails[user] = f"frontdesk{i // 18}@shop.example"
        else:
            phones[user] = "13800138000"
    return len(members), count


def _labels(
    labels: pd.DataFrame, new_users: list[dict[str, Any]], person_of: dict[str, str]
) -> pd.DataFrame:
    segment = labels[(labels["name"] == "segment") & (labels["subject_type"] == "user")]
    segment_of = dict(zip(segment["subject_id"], segment["value"], strict=True))
    rows = []
    for user in new_users:
        base = person_of[user["user_id"]].removeprefix("person_")
        rows.append(("user", user["user_id"], "segment", segment_of.get(base), "simulator"))
        rows.append(("user", user["user_id"], "fraud", "0", "simulator"))
    rows += [("user", u, "person", p, "simulator") for u, p in sorted(person_of.items())]
    extra = pd.DataFrame(rows, columns=["subject_type", "subject_id", "name", "value", "source"])
    return pd.concat([labels, extra], ignore_index=True)
