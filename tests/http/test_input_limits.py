"""Input limits at the boundary: free-form JSON values are bounded, the parser never answers 500,
a 422 lists every bad field in one sentence each, and invisible-only text counts as empty."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from domain.input_limits import MAX_DEPTH, MAX_ENCODED, MAX_INTEGER, MAX_ITEMS, MAX_STRING
from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events, project_with_story

ASSETS = "/api/v1/assets"
ME = "/api/v1/me"


def nested(depth: int) -> dict[str, Any]:
    """A free-form object `depth` levels deep (itself being level 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


# limit name -> (a value at the limit, a value just over it, the words the refusal must use)
LIMITS: dict[str, tuple[Any, Any, str]] = {
    "depth": (nested(MAX_DEPTH), nested(MAX_DEPTH + 1), f"at most {MAX_DEPTH} levels"),
    "keys": ({f"k{i}": i for i in range(MAX_ITEMS)}, {f"k{i}": i for i in range(MAX_ITEMS + 1)},
             f"at most {MAX_ITEMS} keys"),
    "items": ({"list": list(range(MAX_ITEMS))}, {"list": list(range(MAX_ITEMS + 1))}, f"at most {MAX_ITEMS} items"),
    "string": ({"s": "x" * MAX_STRING}, {"s": "x" * (MAX_STRING + 1)}, f"at most {MAX_STRING} characters"),
    "key": ({"k" * MAX_STRING: 1}, {"k" * (MAX_STRING + 1): 1}, f"at most {MAX_STRING} characters"),
    "size": ({f"k{i}": "x" * (MAX_ENCODED // 90 - 12) for i in range(90)},
             {f"k{i}": "x" * (MAX_ENCODED // 90) for i in range(90)}, f"at most {MAX_ENCODED} bytes"),
    "integer": ({"n": MAX_INTEGER}, {"n": MAX_INTEGER + 1}, f"±{MAX_INTEGER}"),
    "tagged": ({"t": {"_type_": "datetime_iso", "data": "2020-01-01"}},
               {"t": {"_type_": "datetime_iso", "_data_": "2020-01-01"}}, "the event store's own form"),
}


def _asset(metadata: Any) -> dict[str, Any]:
    return {"type": "json", "uri": "s3://bucket/a.json", "metadata": metadata}


def _send_free_form(client: Any, tenant: Any, where: str, value: Any) -> Any:
    assert where == "metadata"  # generation defaults were free-form too; now they are a config patch
    return client.post(ASSETS, json=_asset(value), headers=tenant.headers)


FIELD = {"metadata": "metadata"}


@pytest.mark.parametrize("where", list(FIELD))
@pytest.mark.parametrize("limit", list(LIMITS))
def test_a_free_form_value_over_a_limit_is_refused_naming_the_field_and_the_limit(client, services, tenant,
                                                                                  where, limit):
    _, over, words = LIMITS[limit]
    before = count_events(services, tenant.id)

    r = _send_free_form(client, tenant, where, over)

    body = assert_problem(r, 422)
    assert any(e["field"].startswith(FIELD[where]) and words in e["reason"] for e in body["errors"]), body
    assert count_events(services, tenant.id) == before


@pytest.mark.parametrize("where", list(FIELD))
@pytest.mark.parametrize("limit", list(LIMITS))
def test_a_free_form_value_at_a_limit_is_accepted(client, tenant, where, limit):
    at, _, _ = LIMITS[limit]

    r = _send_free_form(client, tenant, where, at)

    assert r.status_code in (200, 201), r.text


def _running_job(client: Any, make_tenant: Any) -> tuple[Any, Any, str]:
    tenant, worker = make_tenant("premium"), make_tenant("worker")
    while client.post("/api/v1/jobs/claim", headers=worker.headers).status_code == 200:
        pass
    project = project_with_story(client, tenant)
    job = client.post(f"{PROJECTS}/{project['id']}/jobs", headers=tenant.headers).json()
    claimed = client.post("/api/v1/jobs/claim", headers=worker.headers)
    assert claimed.status_code == 200 and claimed.json()["id"] == job["id"], claimed.text
    return tenant, worker, job["id"]


@pytest.mark.parametrize("limit", ["depth", "keys", "string", "size"])
def test_job_error_details_over_a_limit_are_refused_and_the_job_stays_running(client, services, make_tenant, limit):
    tenant, worker, job_id = _running_job(client, make_tenant)
    _, over, words = LIMITS[limit]
    before = count_events(services, tenant.id, worker.id)

    r = client.post(f"/api/v1/jobs/{job_id}/fail", headers=worker.headers,
                    json={"error": {"code": "INTERNAL", "message": "boom", "details": over}})

    body = assert_problem(r, 422)
    assert any(e["field"].startswith("error.details") and words in e["reason"] for e in body["errors"]), body
    assert count_events(services, tenant.id, worker.id) == before
    assert client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers).json()["status"] == "running"


# -- the event store's tagged form is not a tenant's to write ---------------------------------------
# An object of exactly the keys "_type_" and "_data_" is how the event store tags a stored UUID,
# time or decimal. A tenant's such object was stored as written, read back as written from the live
# view, but as a UUID (or a time: a 500) by `?at=`, the history, the audit trail and a rebuild.
TAG_LOOKALIKES = {
    "uuid": ("v", {"v": {"_type_": "uuid_hex", "_data_": "00" * 16}}),
    "time, the value itself": ("", {"_type_": "datetime_iso", "_data_": "2020-01-01"}),
    "decimal, in a list": ("v.1", {"v": [1, {"_data_": "1.5", "_type_": "decimal_str"}]}),
    "unregistered name": ("v", {"v": {"_type_": "nope", "_data_": 1}}),
}


@pytest.mark.parametrize("where", list(FIELD))
@pytest.mark.parametrize("lookalike", list(TAG_LOOKALIKES))
def test_an_object_shaped_like_a_stored_tag_is_refused(client, services, tenant, where, lookalike):
    path, value = TAG_LOOKALIKES[lookalike]
    before = count_events(services, tenant.id)

    r = _send_free_form(client, tenant, where, value)

    field = ".".join(p for p in (FIELD[where], path) if p)
    body = assert_problem(r, 422, field)
    assert "_type_" in body["detail"]
    assert count_events(services, tenant.id) == before


def test_job_error_details_shaped_like_a_stored_tag_are_refused(client, services, make_tenant):
    tenant, worker, job_id = _running_job(client, make_tenant)
    before = count_events(services, tenant.id, worker.id)

    r = client.post(f"/api/v1/jobs/{job_id}/fail", headers=worker.headers,
                    json={"error": {"code": "INTERNAL", "message": "boom", "details": TAG_LOOKALIKES["uuid"][1]}})

    assert_problem(r, 422, "error.details.v")
    assert count_events(services, tenant.id, worker.id) == before


@pytest.mark.parametrize("lookalike", ["uuid", "time, the value itself", "decimal, in a list"])
def test_a_tag_lookalike_stored_before_it_was_refused_reads_back_as_an_object_everywhere(client, services, tenant,
                                                                                      lookalike):
    # Stored as an older version accepted it (the aggregate saved directly): `?at=` answered 500 for
    # a time ("Expected object, got datetime"), and a UUID read back as a string.
    from domain.application import CommandContext
    from domain.assets import Asset

    metadata = TAG_LOOKALIKES[lookalike][1]
    asset = Asset(tenant_id=tenant.id, type="json", uri="s3://bucket/a.json", size_bytes=None,
                  metadata=json.loads(json.dumps(metadata)), project_id=None, job_id=None, scene_index=None,
                  expires_at="9999-12-31T00:00:00+00:00")
    services.app._save(CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role="premium"), asset)
    services.app.forget_cached()

    live = client.get(f"{ASSETS}/{asset.id}", headers=tenant.headers)
    then = client.get(f"{ASSETS}/{asset.id}", params={"at": "1"}, headers=tenant.headers)

    assert live.status_code == 200 and live.json()["metadata"] == metadata
    assert then.status_code == 200, then.text
    shape = then.json()["metadata"]
    path = TAG_LOOKALIKES[lookalike][0]
    for step in filter(None, path.split(".")):
        shape = shape[int(step)] if isinstance(shape, list) else shape[step]
    assert set(shape) == {"_type_", "_data_"}


def test_a_tag_key_among_other_keys_is_plain_data_and_reads_back_the_same_everywhere(client, tenant):
    metadata = {"v": {"_type_": "uuid_hex", "_data_": "00" * 16, "note": "three keys"}}
    asset = client.post(ASSETS, json=_asset(metadata), headers=tenant.headers).json()

    for params in ({}, {"at": "1"}):
        r = client.get(f"{ASSETS}/{asset['id']}", params=params, headers=tenant.headers)
        assert r.status_code == 200 and r.json()["metadata"] == metadata, r.text


# -- the JSON parser never answers 500 --------------------------------------------------------------
MALFORMED = {
    "truncated": b'{"title": "abc',
    "invalid-utf8": b'{"title": "\xff\xfe"}',
    "utf8-encoded-surrogate": b'{"title": "\xed\xa0\x80"}',
    "lone-high-surrogate": b'{"title": "\\ud800"}',
    "lone-low-surrogate": b'{"title": "\\udc00"}',
    "high-surrogate-then-letter": b'{"title": "\\ud800\\u0041"}',
    "float-overflow": b'{"title": 1e999}',
    "huge-integer": b'{"title": ' + b"1" + b"0" * 5000 + b"}",
    "deep-arrays": b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deep-objects": b'{"title": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    "unclosed-deep-arrays": b"[" * 500_000,
    "byte-order-mark": b'\xef\xbb\xbf{"title": "x"}',
    "duplicate-keys": b'{"title": "x", "title": "y"}',
    "nested-duplicate-keys": b'{"title": "x", "config": {"voice": {"speed": 1.0, "speed": 2.0}}}',
    "nan": b'{"title": NaN}',
    "infinity": b'{"title": Infinity}',
    "trailing-garbage": b'{"title": "x"} {}',
    "single-quotes": b"{'title': 'x'}",
    "utf16": '{"title": "x"}'.encode("utf-16"),
}


@pytest.mark.parametrize("payload", list(MALFORMED.values()), ids=list(MALFORMED))
@pytest.mark.parametrize("method, path", [("POST", PROJECTS), ("PATCH", ME), ("POST", ASSETS)])
def test_whatever_the_json_parser_refuses_is_a_400_problem_and_nothing_is_written(client, services, tenant,
                                                                                  payload, method, path):
    assert len(payload) <= 1_048_576
    before = count_events(services, tenant.id)

    r = client.request(method, path, content=payload, headers={**tenant.headers, "Content-Type": "application/json"})

    body = assert_problem(r, 400)
    assert body["title"] == "Malformed JSON" and body["errors"], body
    assert count_events(services, tenant.id) == before


def test_a_duplicate_key_is_named(client, tenant):
    r = client.post(PROJECTS, content=b'{"title": "x", "title": "y"}',
                    headers={**tenant.headers, "Content-Type": "application/json"})

    body = assert_problem(r, 400, "title")
    assert "more than once" in body["detail"]


def test_a_duplicate_key_deep_in_the_body_is_named_by_its_path(client, tenant):
    r = client.post(PROJECTS, content=b'{"title": "x", "config": {"voice": {"speed": 1.0, "speed": 2.0}}}',
                    headers={**tenant.headers, "Content-Type": "application/json"})

    assert_problem(r, 400, "config.voice.speed")


def test_a_number_out_of_range_is_named(client, tenant):
    r = client.post(PROJECTS, content=b'{"title": "x", "description": 1e999}',
                    headers={**tenant.headers, "Content-Type": "application/json"})

    assert_problem(r, 400, "description")


# -- every bad field, one sentence each --------------------------------------------------------------
def test_a_422_lists_every_bad_field_not_only_the_first(client, services, tenant):
    before = count_events(services, tenant.id)
    body = {"title": "x" * 256, "description": 5, "preset_id": "not-a-uuid", "colour": "red", "size": 1,
            "config": {"aspect_ratio": "4:3", "voice": {"speed": 9.0, "pitch": 1},
                       "template": {"bgm_volume": 5}, "safety": {"blocked_words": ["ok", "", "x" * 51, 7]}}}

    r = client.post(PROJECTS, json=body, headers=tenant.headers)

    problem = assert_problem(r, 422, "title", "description", "preset_id", "colour", "size", "config.aspect_ratio",
                             "config.voice.speed", "config.voice.pitch", "config.template.bgm_volume",
                             "config.safety.blocked_words.1", "config.safety.blocked_words.2",
                             "config.safety.blocked_words.3")
    assert len(problem["errors"]) == 12
    assert problem["detail"].count(";") == 11
    assert count_events(services, tenant.id) == before


def test_a_missing_required_field_is_listed_with_the_other_bad_ones(client, tenant):
    r = client.post("/api/v1/presets", json={"name": "", "is_default": "yes"}, headers=tenant.headers)

    problem = assert_problem(r, 422, "name", "config", "is_default")
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert reasons["config"] == "is required"


@pytest.mark.parametrize("body, field, reason", [
    ({"title": "x" * 256}, "title", "must be at most 255 characters"),
    ({"title": ""}, "title", "must not be empty"),
    ({"title": 42}, "title", "must be a string, not an integer"),
    ({"title": "ok", "bogus": 1}, "bogus", "is not a known field"),
    ({"title": "ok", "preset_id": "nope"}, "preset_id", "must be a UUID"),
    ({"title": "ok", "config": {"aspect_ratio": "4:3"}}, "config.aspect_ratio", "must be one of 9:16, 16:9, 1:1"),
    ({"title": "ok", "config": {"template": {"bgm_volume": 5}}}, "config.template.bgm_volume", "must be at most 0"),
    ({"title": "ok", "config": {"safety": {"blocked_words": ["w"] * 101}}}, "config.safety.blocked_words",
     "must have at most 100 items"),
])
def test_each_reason_is_one_plain_sentence_and_the_detail_names_the_field_once(client, tenant, body, field, reason):
    r = client.post(PROJECTS, json=body, headers=tenant.headers)

    problem = assert_problem(r, 422, field)
    assert problem["errors"] == [{"field": field, "reason": reason}]
    assert problem["detail"] == f"{field}: {reason}"
    assert "`" not in problem["detail"] and "$." not in problem["detail"]


def test_a_refusal_found_after_the_schema_names_its_field_in_the_detail_too(client, tenant):
    # Adjacency is checked by the domain, not the schema: the detail would be the bare reason,
    # naming no field. (This used the merged generation defaults, now checked by the schema.)
    project = project_with_story(client, tenant)

    r = client.post(f"{PROJECTS}/{project['id']}/scenes/edit", json={"op": "merge", "indexes": [0, 5]},
                    headers=tenant.headers)

    problem = assert_problem(r, 422, "indexes")
    reason = "merge takes two adjacent indexes [i, i+1]"
    assert problem["errors"] == [{"field": "indexes", "reason": reason}]
    assert problem["detail"] == f"indexes: {reason}"


def test_a_bad_query_parameter_is_one_sentence_too(client, tenant):
    r = client.get(PROJECTS, params={"limit": "1000"}, headers=tenant.headers)

    problem = assert_problem(r, 400, "limit") if r.status_code == 400 else assert_problem(r, 422, "limit")
    assert "`" not in problem["detail"] and "$" not in problem["detail"]


# -- invisible-only text is empty ------------------------------------------------------------------
INVISIBLE_ONLY = ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", " \u200b\t\u2060 \n", "\u3000\u200b"]


@pytest.mark.parametrize("text", INVISIBLE_ONLY, ids=[t.encode("unicode_escape").decode() for t in INVISIBLE_ONLY])
@pytest.mark.parametrize("method, path, body, field", [
    ("POST", PROJECTS, lambda t: {"title": t}, "title"),
    ("PATCH", ME, lambda t: {"name": t}, "name"),
    ("POST", "/api/v1/me/tokens", lambda t: {"name": t}, "name"),
    ("POST", "/api/v1/presets", lambda t: {"name": t, "config": {}}, "name"),
    ("POST", PROJECTS, lambda t: {"title": "ok", "config": {"safety": {"blocked_words": ["ok", t]}}},
     "config.safety.blocked_words.1"),
    ("POST", ASSETS, lambda t: {"type": "json", "uri": t}, "uri"),
], ids=["title", "me-name", "token-name", "preset-name", "blocked-word", "asset-uri"])
def test_invisible_only_text_counts_as_empty_where_empty_is_refused(client, services, tenant, text, method, path,
                                                                    body, field):
    before = count_events(services, tenant.id)

    r = client.request(method, path, json=body(text), headers=tenant.headers)

    problem = assert_problem(r, 422, field)
    if field == "uri":  # a uri also has a pattern (a scheme first), which an invisible-only one fails before
        assert [e["field"] for e in problem["errors"]] == ["uri"]
    else:
        assert {"field": field, "reason": "must not be blank"} in problem["errors"]
    assert count_events(services, tenant.id) == before


@pytest.mark.parametrize("text", INVISIBLE_ONLY, ids=[t.encode("unicode_escape").decode() for t in INVISIBLE_ONLY])
def test_an_invisible_only_story_or_scene_text_is_empty(client, services, tenant, text):
    project = project_with_story(client, tenant)
    before = count_events(services, tenant.id)

    story = client.put(f"{PROJECTS}/{project['id']}/story", json={"text": text}, headers=tenant.headers)
    scene = client.post(f"{PROJECTS}/{project['id']}/scenes/edit", json={"op": "update", "index": 0, "text": text},
                        headers=tenant.headers)

    assert_problem(story, 422, "text")
    assert_problem(scene, 422, "text")
    assert count_events(services, tenant.id) == before


# Characters that print nothing beyond the five first listed: Unicode format characters (soft hyphen,
# bidi marks and overrides, tags, Mongolian vowel separator), the Hangul fillers, the braille blank,
# the combining grapheme joiner and variation selectors. A title of only these was accepted.
MORE_INVISIBLE = ["\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u180e", "\u200e\u200f", "\u202e",
                  "\u2066\u2069", "\u2800", "\u3164", "\ufe0f", "\uffa0", "\U000e0020\U000e007f", "\U000e0100"]


@pytest.mark.parametrize("text", MORE_INVISIBLE, ids=[t.encode("unicode_escape").decode() for t in MORE_INVISIBLE])
def test_every_character_that_prints_nothing_counts_as_empty(client, services, tenant, text):
    project = client.post(PROJECTS, json={"title": "kept"}, headers=tenant.headers).json()
    before = count_events(services, tenant.id)

    title = client.patch(f"{PROJECTS}/{project['id']}", json={"title": " " + text}, headers=tenant.headers)
    preset = client.post("/api/v1/presets", json={"name": text, "config": {}}, headers=tenant.headers)

    assert {"field": "title", "reason": "must not be blank"} in assert_problem(title, 422, "title")["errors"]
    assert {"field": "name", "reason": "must not be blank"} in assert_problem(preset, 422, "name")["errors"]
    assert count_events(services, tenant.id) == before


@pytest.mark.parametrize("text", ["\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u05e9\u200f!",
                                  "co\u00adop", "\u3164a"])
def test_visible_text_among_invisible_characters_is_accepted(client, tenant, text):
    r = client.post("/api/v1/presets", json={"name": text, "config": {}}, headers=tenant.headers)

    assert r.status_code == 201, r.text


def test_visible_text_with_a_zero_width_character_is_still_accepted(client, tenant):
    r = client.post(PROJECTS, json={"title": "a\u200bb"}, headers=tenant.headers)

    assert r.status_code == 201, r.text


# -- partial configuration and settings still merge section by section -------------------------------
def test_a_partial_config_and_partial_settings_still_merge_section_by_section(client, tenant):
    created = client.post(PROJECTS, json={"title": "merge", "config": {"template": {"bgm_volume": -10}}},
                          headers=tenant.headers).json()
    assert created["config"]["template"]["bgm_volume"] == -10
    assert created["config"]["template"]["name"] == "classic"

    r = client.patch(f"{PROJECTS}/{created['id']}", json={"config": {"template": {"name": "dark"}}},
                     headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["config"]["template"] == {**created["config"]["template"], "name": "dark"}
    me = client.patch(ME, json={"settings": {"notifications": {"discord": True}}}, headers=tenant.headers).json()
    assert me["settings"]["notifications"] == {"email": True, "discord": True, "webhook": False}


def test_story_text_with_visible_words_is_unaffected(client, tenant):
    project = client.post(PROJECTS, json={"title": "story"}, headers=tenant.headers).json()

    r = client.put(f"{PROJECTS}/{project['id']}/story", json={"text": "\u200b" + ENGLISH_STORY},
                   headers=tenant.headers)

    assert r.status_code == 200, r.text


def test_unknown_ids_do_not_matter_to_a_refused_body(client, make_tenant):
    worker = make_tenant("worker")

    r = client.post(f"/api/v1/jobs/{uuid.uuid4()}/fail", headers=worker.headers,
                    json={"error": {"code": "INTERNAL", "message": "\u200b", "details": LIMITS["keys"][1]}})

    assert_problem(r, 422, "error.message", "error.details")


# -- structured fields have real schemas in the OpenAPI document -------------------------------------
def _refs(schema: dict[str, Any]) -> set[str]:
    found = {schema["$ref"].rsplit("/", 1)[-1]} if "$ref" in schema else set()
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= _refs(option)
    return found


@pytest.mark.parametrize("schema, field, typed", [
    ("CreateProject", "config", "ProjectConfigPatch"),
    ("UpdateProject", "config", "ProjectConfigPatch"),
    ("QueueJob", "config", "ProjectConfigPatch"),
    ("CreatePreset", "config", "ProjectConfigPatch"),
    ("UpdatePreset", "config", "ProjectConfigPatch"),
    ("UpdateMe", "settings", "SettingsPatch"),
    ("ProjectOut", "config", "ProjectConfig"),
    ("PresetOut", "config", "ProjectConfig"),
    ("UserOut", "settings", "Settings"),
    ("JobOut", "config", "ProjectConfig"),
    ("JobOut", "estimate", "EstimateOut"),
    ("JobOut", "progress", "JobProgress"),
    ("JobOut", "error", "JobErrorOut"),
    ("ProjectConfigPatch", "template", "TemplateConfigPatch"),
    ("SettingsPatch", "notifications", "NotificationSettingsPatch"),
    ("SettingsPatch", "generation_defaults", "ProjectConfigPatch"),
    ("Settings", "generation_defaults", "ProjectConfigPatch"),
])
def test_structured_fields_have_real_schemas_in_the_openapi_document(client, schema, field, typed):
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]

    assert typed in _refs(schemas[schema]["properties"][field]), schemas[schema]["properties"][field]
    assert schemas[typed]["properties"], schemas[typed]


@pytest.mark.parametrize("schema, field", [("RegisterAsset", "metadata"), ("JobError", "details")])
def test_free_form_fields_document_their_limits(client, schema, field):
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]

    description = schemas[schema]["properties"][field]["description"]
    assert f"{MAX_DEPTH} levels" in description and f"{MAX_ENCODED} bytes" in description
