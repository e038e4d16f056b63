"""Fault-test verdicts: the event log and the read models against what the clients were told."""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from tests.faults.harness import PROJECT_CREATED, FaultRig, Tenant
from tests.faults.load import Attempt


def conflicted_keys_were_applied(conn: Any, retries: Sequence[Attempt], rig: FaultRig | None = None) -> list[str]:
    """A 409 "already applied" must be true: the command's Created event is in the log. (The note
    says whether the key's stored response is missing, the state that makes every retry a 409.)"""
    keys = sorted({a.key for a in retries if a.reply.status == 409})
    if not keys:
        return []
    found = {r["command_id"] for r in conn.execute(
        "SELECT command_id FROM events WHERE topic = %s AND command_id = ANY(%s)", (PROJECT_CREATED, keys))}
    if rig is not None:
        rows = conn.execute("SELECT key, result FROM idempotency_keys WHERE key = ANY(%s)", (keys,)).fetchall()
        rig.notes.append(f"{len(keys)} keys answered 409: idempotency_keys rows {len(rows)}, with no recorded "
                         f"result (result NULL) {sum(1 for r in rows if r['result'] is None)}")
    return [f"retry of {k} answered 409 'applied', but the log has no Created event for it" for k in keys
            if k not in found]


def check_commands(conn: Any, tenants: Sequence[Tenant], attempts: Sequence[Attempt]) -> list[str]:
    """The event log and the read models against what the clients were told.

    - every acknowledged (2xx) command has exactly one Project.Created event, with its
      Idempotency-Key as command_id, for the id it answered, and its project row has its title;
    - no command (acknowledged or not, retried or not) appended any event twice;
    - no title has two projects; every project of these tenants came from one of our commands.
    """
    problems: list[str] = []
    tenant_ids = [uuid.UUID(t.id) for t in tenants]
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_key[a.key].append(a)

    per_topic = conn.execute(
        "SELECT command_id, topic, count(*) AS n, array_agg(originator_id::text) AS ids FROM events"
        " WHERE tenant_id = ANY(%s) AND command_id IS NOT NULL GROUP BY command_id, topic",
        (tenant_ids,)).fetchall()
    created: dict[str, list[str]] = defaultdict(list)
    for row in per_topic:
        if row["n"] > 1:
            problems.append(f"command {row['command_id']} appended {row['topic']} {row['n']} times: {row['ids']}")
        if row["topic"] == PROJECT_CREATED:
            created[row["command_id"]].extend(row["ids"])
    projects = {str(r["id"]): r for r in conn.execute(
        "SELECT id, tenant_id, title, version FROM projects WHERE tenant_id = ANY(%s)", (tenant_ids,))}

    for key, tries in by_key.items():
        acked = [a for a in tries if a.reply.ok]
        ids = created.get(key, [])
        if acked:
            answered = {(a.reply.json() or {}).get("id") for a in acked}
            if len(ids) != 1:
                problems.append(f"acknowledged command {key} ({tries[0].title!r}) has {len(ids)} Created events")
            elif answered != {ids[0]}:
                problems.append(f"command {key} answered project ids {answered} but its event created {ids[0]}")
        for pid in ids:
            row = projects.get(pid)
            if row is None:
                problems.append(f"project {pid} of command {key} has a Created event but no read-model row")
            elif row["title"] != tries[0].title:
                problems.append(f"project {pid} of command {key}: title {row['title']!r} != {tries[0].title!r}")
    stray = set(created) - set(by_key)
    if stray:
        problems.append(f"Created events with command ids nobody sent: {sorted(stray)[:5]}")
    titles = Counter(r["title"] for r in projects.values())
    problems += [f"{n} projects titled {t!r}" for t, n in titles.items() if n > 1]
    all_created = {pid for ids in created.values() for pid in ids}
    orphans = set(projects) - all_created
    if orphans:
        problems.append(f"project rows with no Created event from our commands: {sorted(orphans)[:5]}")
    return problems


def check_read_models_match_log(conn: Any, tenants: Sequence[Tenant]) -> list[str]:
    """Nothing half-applied: each aggregate's read-model row is at the version of its last event,
    every row has its events, and the inline projections' tracking position is the log head."""
    problems: list[str] = []
    tenant_ids = [uuid.UUID(t.id) for t in tenants]
    heads = conn.execute(
        "SELECT originator_id, max(originator_version) AS v, min(topic) AS topic, min(tenant_id::text) AS tenant"
        " FROM events WHERE tenant_id = ANY(%s) GROUP BY originator_id", (tenant_ids,)).fetchall()
    kinds = {"domain.projects:Project.": "projects", "domain.users:User.": "users", "domain.quotas:Usage.": "usage"}
    expected: dict[str, dict[Any, int]] = {"projects": {}, "users": {}, "usage": {}}
    for h in heads:
        kind = next((table for prefix, table in kinds.items() if h["topic"].startswith(prefix)), None)
        if kind is None:
            problems.append(f"unexpected aggregate {h['originator_id']} ({h['topic']}) in the fault tenants' log")
            continue
        ident = h["tenant"] if kind == "usage" else str(h["originator_id"])
        expected[kind][ident] = h["v"]
    actual = {
        "projects": {str(r["id"]): r["version"] for r in conn.execute(
            "SELECT id, version FROM projects WHERE tenant_id = ANY(%s)", (tenant_ids,))},
        "users": {str(r["id"]): r["version"] for r in conn.execute(
            "SELECT id, version FROM users WHERE tenant_id = ANY(%s)", (tenant_ids,))},
        "usage": {str(r["tenant_id"]): r["version"] for r in conn.execute(
            "SELECT tenant_id, version FROM usage WHERE tenant_id = ANY(%s)", (tenant_ids,))},
    }
    for kind in expected:
        for ident, version in expected[kind].items():
            if actual[kind].get(ident) != version:
                problems.append(f"{kind} row {ident}: version {actual[kind].get(ident)} in the read model,"
                                f" {version} in the log")
        for ident in set(actual[kind]) - set(expected[kind]):
            problems.append(f"{kind} row {ident} has no events")
    usage = {str(r["tenant_id"]): int(r["used"].get("projects", 0)) for r in conn.execute(
        "SELECT tenant_id, used FROM usage WHERE tenant_id = ANY(%s)", (tenant_ids,))}
    counted = {str(r["tenant_id"]): r["n"] for r in conn.execute(
        "SELECT tenant_id, count(*) AS n FROM projects WHERE tenant_id = ANY(%s) GROUP BY tenant_id", (tenant_ids,))}
    if usage != counted:
        problems.append(f"daily usage counts {usage} differ from the projects created {counted}")
    head = conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"]
    positions = {r["application_name"]: r["notification_id"] for r in conn.execute(
        "SELECT application_name, notification_id FROM tracking WHERE application_name <> '__migration__'")}
    behind = {k: v for k, v in positions.items() if v != head and k in inline_projection_names()}
    if behind:
        problems.append(f"inline projection positions {behind} are not the log head {head}")
    return problems


def inline_projection_names() -> list[str]:
    from projections.inline import INLINE_PROJECTIONS

    return [p.name for p in INLINE_PROJECTIONS]


def read_model_tables() -> list[str]:
    from projections.inline import INLINE_PROJECTIONS

    return sorted({t for p in INLINE_PROJECTIONS for t in p.tables})


def checksums(conn: Any) -> dict[str, str]:
    from tests.rebuild_support import table_checksums

    return table_checksums(conn, read_model_tables())
