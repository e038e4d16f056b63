"""Projects of two tenants driven through HTTP by a Hypothesis state machine, against an in-memory model."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule, run_state_machine_as_test,
)

PROJECTS = "/api/v1/projects"
TENANTS = st.sampled_from([0, 1])
# Printable text of every script, spaces included (a title is stored stripped); no control characters.
TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
TITLES = st.one_of(st.text(TEXT, min_size=0, max_size=12), st.sampled_from(["  ", " padded ", "t" * 255, "t" * 256]))
DESCRIPTIONS = st.one_of(st.text(TEXT, max_size=12), st.sampled_from(["", "d" * 1000, "d" * 1001]))


@dataclass
class ModelProject:
    """What the API must answer about one project: the oracle."""

    owner: int
    title: str
    description: str
    version: int = 1
    deleted: bool = False
    # version -> (title, description, deleted) as it was then
    history: dict[int, tuple[str, str, bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.history[1] = (self.title, self.description, self.deleted)

    def change(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)
            self.version += 1
            self.history[self.version] = (self.title, self.description, self.deleted)


def title_fits_schema(title: str) -> bool:
    # Blank text (whitespace, zero-width characters only) is refused with the body, before any lookup.
    visible = any(not (c.isspace() or c in "\u200b\u200c\u200d\u2060\ufeff") for c in title)
    return 1 <= len(title) <= 255 and visible


def title_is_valid(title: str) -> bool:
    return title_fits_schema(title) and bool(title.strip())


def description_is_valid(description: str) -> bool:
    return len(description) <= 1000


class ProjectsMachine(RuleBasedStateMachine):
    """Two tenants create, rename, describe, delete, restore, read and list projects; each answer is
    checked against the model, and the other tenant's ids always look like ids that do not exist."""

    client: ClassVar[Any]
    services: ClassVar[Any]

    projects = Bundle("projects")

    def __init__(self) -> None:
        super().__init__()
        from domain.application import CommandContext

        self.headers: list[dict[str, str]] = []
        for _ in range(2):
            email = f"sm-{uuid.uuid4().hex[:12]}@example.com"
            _, token = self.services.app.register_user(CommandContext.system("tests"), email=email, name="SM",
                                                       role="premium")
            self.headers.append({"Authorization": f"Bearer {token}"})
        self.model: dict[str, ModelProject] = {}
        self.created: list[str] = []  # creation order

    # -- helpers ----------------------------------------------------------------------------------
    def call(self, who: int, method: str, url: str, **kw: Any) -> Any:
        r = self.client.request(method, url, headers=self.headers[who], **kw)
        assert r.status_code < 500, (method, url, r.text)
        return r

    def expect(self, r: Any, status: int) -> None:
        assert r.status_code == status, (r.request.method, str(r.request.url), r.status_code, r.text)

    def expect_not_found_like_a_missing_id(self, r: Any, who: int, method: str, suffix: str = "", **kw: Any) -> None:
        self.expect(r, 404)
        missing = self.call(who, method, f"{PROJECTS}/{uuid.uuid4()}{suffix}", **kw)
        assert missing.status_code == 404 and missing.content == r.content

    def check_body(self, body: dict[str, Any], pid: str, m: ModelProject, version: int | None = None) -> None:
        title, description, deleted = m.history[version or m.version]
        assert body["id"] == pid
        assert body["version"] == (version or m.version), (body, m)
        assert (body["title"], body["description"]) == (title, description), (body, m)
        assert (body["deleted_at"] is not None) == deleted, (body, m)
        assert body["status"] == "draft"

    def check_answer(self, r: Any, pid: str, m: ModelProject, status: int = 200) -> None:
        self.expect(r, status)
        self.check_body(r.json(), pid, m)
        assert r.headers["etag"] == f'"{m.version}"'

    def owned_by(self, who: int, include_deleted: bool) -> list[str]:
        """The tenant's projects as a list answers them: newest first."""
        return [pid for pid in reversed(self.created)
                if self.model[pid].owner == who and (include_deleted or not self.model[pid].deleted)]

    # -- commands ---------------------------------------------------------------------------------
    @initialize(target=projects, who=TENANTS, title=st.sampled_from(["First", "Premier projet", "第一個"]))
    def a_first_project(self, who: int, title: str) -> str:
        return self.create(who, title, "")

    @rule(target=projects, who=TENANTS, title=TITLES, description=DESCRIPTIONS)
    def create(self, who: int, title: str, description: str) -> Any:
        r = self.call(who, "POST", PROJECTS, json={"title": title, "description": description})
        if not (title_is_valid(title) and description_is_valid(description)):
            self.expect(r, 422)
            return multiple()
        self.expect(r, 201)
        pid = r.json()["id"]
        self.model[pid] = ModelProject(owner=who, title=title.strip(), description=description)
        self.created.append(pid)
        self.check_answer(r, pid, self.model[pid], 201)
        assert r.headers["location"].endswith(f"{PROJECTS}/{pid}")
        return pid

    def patch(self, pid: str, who: int, body: dict[str, str]) -> None:
        m = self.model[pid]
        r = self.call(who, "PATCH", f"{PROJECTS}/{pid}", json=body)
        title, description = body.get("title"), body.get("description")
        if (title is not None and not title_fits_schema(title)) or (
                description is not None and not description_is_valid(description)):
            self.expect(r, 422)  # the body is refused before anything is looked up
        elif who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "PATCH", json=body)
        elif m.deleted:
            self.expect(r, 404)
        elif title is not None and not title.strip():
            self.expect(r, 422)
        else:
            changes: dict[str, str] = {}
            if title is not None and title.strip() != m.title:
                changes["title"] = title.strip()
            if description is not None and description != m.description:
                changes["description"] = description
            m.change(**changes)  # one event, so one version, per field that changed
            self.check_answer(r, pid, m)

    @rule(project=projects, who=TENANTS, title=TITLES)
    def rename(self, project: str, who: int, title: str) -> None:
        self.patch(project, who, {"title": title})

    @rule(project=projects, who=TENANTS, description=DESCRIPTIONS)
    def describe(self, project: str, who: int, description: str) -> None:
        self.patch(project, who, {"description": description})

    @rule(project=projects, who=TENANTS, title=TITLES, description=DESCRIPTIONS)
    def rename_and_describe(self, project: str, who: int, title: str, description: str) -> None:
        self.patch(project, who, {"title": title, "description": description})

    @rule(project=projects, who=TENANTS)
    def delete(self, project: str, who: int) -> None:
        m = self.model[project]
        r = self.call(who, "DELETE", f"{PROJECTS}/{project}")
        if who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "DELETE")
        elif m.deleted:
            self.expect(r, 404)
        else:
            self.expect(r, 204)
            m.change(deleted=True)

    @rule(project=projects, who=TENANTS)
    def restore(self, project: str, who: int) -> None:
        m = self.model[project]
        r = self.call(who, "POST", f"{PROJECTS}/{project}/restore")
        if who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "POST", "/restore")
        elif not m.deleted:
            self.expect(r, 409)
        else:
            m.change(deleted=False)
            self.check_answer(r, project, m)

    # -- queries ----------------------------------------------------------------------------------
    @rule(project=projects, who=TENANTS, include_deleted=st.booleans())
    def read(self, project: str, who: int, include_deleted: bool) -> None:
        m = self.model[project]
        params = {"include_deleted": "true"} if include_deleted else {}
        r = self.call(who, "GET", f"{PROJECTS}/{project}", params=params)
        if who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "GET", params=params)
        elif m.deleted and not include_deleted:
            self.expect(r, 404)
        else:
            self.check_answer(r, project, m)

    @rule(project=projects, who=TENANTS, data=st.data())
    def read_as_it_was(self, project: str, who: int, data: Any) -> None:
        m = self.model[project]
        version = data.draw(st.integers(1, m.version), label="version")
        params = {"at": str(version), "include_deleted": "true"}
        r = self.call(who, "GET", f"{PROJECTS}/{project}", params=params)
        if who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "GET", params=params)
            return
        self.expect(r, 200)
        self.check_body(r.json(), project, m, version)
        assert r.headers["etag"] == f'"{version}"'

    @rule(project=projects, who=TENANTS)
    def history(self, project: str, who: int) -> None:
        m = self.model[project]
        r = self.call(who, "GET", f"{PROJECTS}/{project}/history")
        if who != m.owner:
            self.expect_not_found_like_a_missing_id(r, who, "GET", "/history")
            return
        self.expect(r, 200)
        assert [e["version"] for e in r.json()["items"]] == list(range(1, m.version + 1))

    @rule(who=TENANTS, include_deleted=st.booleans(), limit=st.integers(1, 4))
    def list_page_by_page(self, who: int, include_deleted: bool, limit: int) -> None:
        seen: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": limit, **({"include_deleted": "true"} if include_deleted else {})}
        for _ in range(50):
            r = self.call(who, "GET", PROJECTS, params=params)
            self.expect(r, 200)
            page = r.json()
            assert len(page["items"]) <= limit
            seen += page["items"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert [p["id"] for p in seen] == self.owned_by(who, include_deleted)
        for body in seen:
            self.check_body(body, body["id"], self.model[body["id"]])

    @invariant()
    def each_tenant_lists_exactly_its_own_projects(self) -> None:
        for who in (0, 1):
            r = self.call(who, "GET", PROJECTS, params={"limit": 100, "include_deleted": "true"})
            self.expect(r, 200)
            assert [p["id"] for p in r.json()["items"]] == self.owned_by(who, include_deleted=True)


@pytest.mark.integration
def test_projects_of_two_tenants_behave_like_the_model(client, services):
    ProjectsMachine.client, ProjectsMachine.services = client, services
    run_state_machine_as_test(ProjectsMachine, settings=settings(
        max_examples=25, stateful_step_count=20, derandomize=True, database=None, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
