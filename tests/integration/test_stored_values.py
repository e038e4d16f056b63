"""Every reader reads every value a released version accepted (issue 11, item 2).

The log is append-only: whatever the API once answered 201 for stays in it forever, whatever
limits the API adds later. Hypothesis draws values at main's acceptance limits (free-form JSON
nested as deep as the request decoder let through, integers of up to 4,300 digits, any finite
float, any Unicode a JSON body may carry, objects shaped like the library's own type tags,
expiries at the end of the calendar or just past, with odd UTC offsets). They are stored
directly through the event store, bypassing today's API (hand-built aggregates saved by the
application's recorder), and then every reader runs over them: history, `?at=` (version and
time), the audit pages, export (HTTP and CLI), chain verify (online and on the exported file),
projection rebuild and verify, the aggregate cache (reload after eviction, then a command), the
expiry and timeout sweeps, and the async daily-usage view.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import CommandContext
from domain.assets import Asset
from domain.jobs import Job
from domain.projects import Project
from domain.users import User
from tests import support

V1 = "/api/v1"
# The deepest free-form object main accepted in a request body: msgspec decodes it in the request
# thread under Python's recursion limit of 1,000 (measured: 968 levels of `metadata` passed).
MAX_DEPTH = 968
MAX_INT_DIGITS = 4300  # msgspec (and Python's int parsing) refuse longer integers

# -- values at main's acceptance limits -------------------------------------------------------------
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
odd_text = st.sampled_from(["\u2028\u2029", "\ufffe\uffff", "\U0010ffff", "\u200b\u202e", "é" * 300, "x" * 5000])
huge_int = st.integers(min_value=1, max_value=MAX_INT_DIGITS).map(lambda n: int("9" * n))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), huge_int, huge_int.map(lambda i: -i),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1.7976931348623157e308, 5e-324, -0.0]),
    text, odd_text,
)
# Objects a tenant may write that look like the library's tagged values.
tag_lookalikes = st.fixed_dictionaries({
    "_type_": st.one_of(st.sampled_from(["nope", "datetime_iso", "uuid_hex", "decimal_str"]), text, st.integers()),
    "_data_": st.one_of(scalars, st.sampled_from(["2020-01-01", "00" * 16, "1.5", "not a value"])),
})



def _reads_back_as_written(tag: dict[str, Any]) -> bool:
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, UUIDAsHex

    from eventstore.transcoder import MsgspecTranscoder

    transcoder = MsgspecTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):  # the application's
        transcoder.register(transcoding)
    return transcoder.decode(transcoder.encode({"t": tag}))["t"] == tag


# A look-alike whose name is registered and whose data that transcoding reads is read back as the
# tagged type, not as the object written (the library's format cannot tell them apart): a released
# version could store one (the API refuses it now, decisions #29); its own test is below.
json_values = st.recursive(
    st.one_of(scalars, tag_lookalikes.filter(_reads_back_as_written)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.one_of(text, odd_text), children, max_size=4),
    max_leaves=12,
)


@st.composite
def free_form(draw: Any) -> dict[str, Any]:
    """A free-form object (metadata, settings, config, details) up to main's nesting depth."""
    value = draw(json_values)
    for i in range(draw(st.integers(min_value=0, max_value=MAX_DEPTH - 2))):
        value = {"k": value} if i % 2 else [value]
    return {"v": value, "_type_": draw(st.sampled_from(["nope", "x"]))} if draw(st.booleans()) else {"v": value}


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def expiries(draw: Any) -> str:
    """Expiries main accepted: any future instant with any offset (the end of the calendar
    included), and ones that were in the future when accepted and have passed since."""
    tz = draw(offsets)
    if draw(st.booleans()):
        return datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=tz).isoformat()
    past = datetime.now(timezone.utc) - timedelta(seconds=draw(st.integers(min_value=1, max_value=10 ** 6)))
    return past.astimezone(tz).isoformat()


# -- the store --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    name, url = support.fresh_database("avm_values")
    services = Services(Database(url=url, embedded=False), pool_size=4)
    app = services.app
    admin, admin_token = app.register_user(CommandContext.system("tests"), email=f"a-{uuid4().hex[:8]}@example.com",
                                           name="A", role="admin")
    tenant, token = app.register_user(CommandContext.system("tests"), email=f"t-{uuid4().hex[:8]}@example.com",
                                      name="T", role="premium")
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield {"services": services, "url": url, "client": client, "tenant": str(tenant.id),
                   "tenant_headers": {"Authorization": f"Bearer {token}"},
                   "admin_headers": {"Authorization": f"Bearer {admin_token}"},
                   "tmp": tmp_path_factory.mktemp("values")}
    finally:
        services.close()
        support.drop_database(name)


def store_directly(services: Any, tenant: str, metadata: dict[str, Any], config: dict[str, Any],
                   details: dict[str, Any], settings_: dict[str, Any], expires_at: str) -> dict[str, str]:
    """Hand-built aggregates, saved by the application's recorder (no API, no domain checks)."""
    app = services.app
    now = datetime.now(timezone.utc)
    ctx = CommandContext(tenant_id=tenant, actor_id=tenant, role="premium")
    asset = Asset(tenant_id=tenant, type="json", uri="s3://bucket/key", size_bytes=123, metadata=metadata,
                  project_id=None, job_id=None, scene_index=None, expires_at=expires_at)
    project = Project(tenant_id=tenant, title="values", description="", config=config, preset_id=None)
    job = Job(tenant_id=tenant, project_id=str(project.id), config=config, estimate={"expected": 1.5},
              priority=0, max_attempts=1, timeout_seconds=60, queued_at=now.isoformat())
    job._fail(error={"code": "X", "message": "m", "details": details, "at": now.isoformat()}, will_retry=False,
              available_at=None)
    then = now - timedelta(hours=1)  # claimed an hour ago and silent since: the timeout sweep's
    stalled = Job(tenant_id=tenant, project_id=str(project.id), config=config, estimate={"expected": 1.5},
                  priority=0, max_attempts=1, timeout_seconds=60, queued_at=then.isoformat())
    stalled.claim(worker_id="worker-values", now=then)
    user = app.load(User, tenant, tenant)
    user._change_settings(settings=settings_)
    app._save(ctx, asset, project, job, stalled, user)
    return {"asset": str(asset.id), "project": str(project.id), "job": str(job.id), "stalled": str(stalled.id)}


def ok(response: Any) -> Any:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response


def read_over_http(world: dict[str, Any], ids: dict[str, str]) -> None:
    client, th, ah, tenant = world["client"], world["tenant_headers"], world["admin_headers"], world["tenant"]
    later = quote(datetime.now(timezone.utc).isoformat())
    for kind in ("assets", "projects", "jobs"):
        ok(client.get(f"{V1}/{kind}/{ids[kind[:-1]]}", headers=th))
        assert ok(client.get(f"{V1}/{kind}/{ids[kind[:-1]]}/history", headers=th)).json()["items"]
    for kind in ("assets", "projects"):
        ok(client.get(f"{V1}/{kind}/{ids[kind[:-1]]}?at=1", headers=th))
        ok(client.get(f"{V1}/{kind}/{ids[kind[:-1]]}?at={later}", headers=th))
    ok(client.get(f"{V1}/assets?include_expired=true", headers=th))
    ok(client.get(f"{V1}/me", headers=th))
    ok(client.get(f"{V1}/audit/events?tenant_id={tenant}&limit=100", headers=ah))
    export = ok(client.get(f"{V1}/audit/export?tenant_id={tenant}", headers=ah)).content
    assert b'"manifest"' in export.splitlines()[-1], export.splitlines()[-1][:300]
    assert ok(client.get(f"{V1}/audit/verify?tenant_id={tenant}", headers=ah)).json()["ok"] is True

    from eventstore.verify import verify_export
    from projections.audit import offline_decoder, shown_fields

    decode = offline_decoder()
    report = verify_export(export.splitlines(), lambda row: shown_fields(row, decode))
    assert report.ok, report


def reload_and_command(services: Any, tenant: str, ids: dict[str, str]) -> None:
    """The aggregate cache: evicted, reloaded from the store, copied for a command that then saves."""
    app = services.app
    ctx = CommandContext(tenant_id=tenant, actor_id=tenant, role="premium")
    app.forget_cached()
    app.load(Asset, ids["asset"], tenant)
    app.delete_asset(ctx, ids["asset"], None)  # a copy of the cached aggregate, changed and saved
    app.restore_asset(ctx, ids["asset"], None)
    app.load(Job, ids["job"], tenant)
    app.load(Project, ids["project"], tenant)
    app.update_me(ctx, None, name="Still readable")


def avm(world: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": world["url"], "AVM_DATA_DIR": str(world["tmp"] / ".data")}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=support.ROOT)


def test_every_reader_reads_every_value_main_accepted_stored_directly_in_the_log(world: dict[str, Any]) -> None:
    services, tenant = world["services"], world["tenant"]

    @settings(max_examples=int(os.environ.get("AVM_VALUES_EXAMPLES", "25")), deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(metadata=free_form(), config=free_form(), details=free_form(), settings_=free_form(), expires_at=expiries())
    def stored_then_read(metadata: dict[str, Any], config: dict[str, Any], details: dict[str, Any],
                         settings_: dict[str, Any], expires_at: str) -> None:
        ids = store_directly(services, tenant, metadata, config, details, settings_, expires_at)
        read_over_http(world, ids)
        reload_and_command(services, tenant, ids)

    from api.failures import ITEM_FAILURES

    def failures() -> float:
        return sum(sample.value for metric in ITEM_FAILURES.collect() for sample in metric.samples
                   if sample.name.endswith("_total"))

    failed_before = failures()  # the counter is per process: other tests may have counted theirs
    stored_then_read()

    # The commands and the background work, once over everything stored above.
    export = world["tmp"] / "export.ndjson"
    with psycopg.connect(world["url"]) as conn:
        stalled, due = conn.execute(
            "SELECT (SELECT count(*) FROM jobs WHERE status = 'running'),"
            " (SELECT count(*) FROM assets WHERE expired_at IS NULL AND expires_at <= now())").fetchone()
    assert stalled > 0 and due > 0  # the sweeps below have work to do on the stored values
    for args in (("audit", "export", "--tenant", tenant, "--out", str(export)),
                 ("audit", "verify"), ("audit", "verify", "--file", str(export)),
                 ("projections", "verify"), ("projections", "rebuild"), ("projections", "verify"),
                 ("assets", "expire"), ("jobs", "sweep")):
        result = avm(world, *args)
        assert result.returncode == 0, (args, result.stdout[-500:], result.stderr[-2000:])
        assert "skipped" not in result.stdout, (args, result.stdout)
    assert b'"manifest"' in export.read_bytes().splitlines()[-1]
    with psycopg.connect(world["url"]) as conn:
        stalled, due = conn.execute(
            "SELECT (SELECT count(*) FROM jobs WHERE status = 'running'),"
            " (SELECT count(*) FROM assets WHERE expired_at IS NULL AND expires_at <= now())").fetchone()
    assert (stalled, due) == (0, 0)  # every stored item was swept

    from tests.integration.test_views_daily_usage import run_view, wait_caught_up

    stop = run_view(world["url"])
    try:
        wait_caught_up(world["url"], timeout=120)
    finally:
        stop()
    assert failures() == failed_before, "a reader skipped one of the stored values"


def test_a_stored_look_alike_of_a_tagged_value_is_read_back_as_that_type_by_every_reader_and_rebuilt_consistently(
        world: dict[str, Any]) -> None:
    """Before decisions #29 the API accepted `{"_type_": "datetime_iso", "_data_": …}` in free-form
    values; the log reads it back as a datetime. Every reader still reads it; a rebuild writes the
    row as the log reads it, and verifies clean after."""
    services, tenant = world["services"], world["tenant"]
    tagged = {"when": {"_type_": "datetime_iso", "_data_": "2020-01-01T00:00:00+00:00"}}
    ids = store_directly(services, tenant, tagged, {"v": 1}, tagged, {"v": 1}, "9999-12-31T23:59:59+00:00")
    read_over_http(world, ids)
    history = world["client"].get(f"{V1}/assets/{ids['asset']}/history", headers=world["tenant_headers"]).json()
    assert history["items"][0]["data"]["metadata"]["when"] == "2020-01-01T00:00:00+00:00"
    reload_and_command(services, tenant, ids)
    for args in (("projections", "rebuild"), ("projections", "verify")):
        result = avm(world, *args)
        assert result.returncode == 0, (args, result.stdout[-500:], result.stderr[-2000:])
