"""A fault inside a command's transaction, after its events were queued: the whole command is rolled back.

Inline projectors write in the events' transaction (architecture: one command, one transaction), so a
projector that fails, here on a value the driver cannot send, must leave neither the events nor a
half-rewritten read model behind. Its answer may be a 5xx: it is a server fault, not bad input.
"""
from __future__ import annotations

from typing import Any

import pytest

from projections.projects import ProjectsProjection
from tests.http.helpers import PROJECTS, count_aggregate_events, create_project


class Unsendable:
    """A value psycopg cannot adapt: the failure happens in the client, after earlier statements were queued."""


@pytest.mark.parametrize("change", [{"title": "After"}, {"description": "After"}], ids=["rename", "describe"])
def test_a_projector_failing_mid_command_leaves_no_event_and_the_old_row(client, services, make_tenant, monkeypatch,
                                                                       change):
    who = make_tenant("premium")
    project = create_project(client, who, "Before")
    url = f"{PROJECTS}/{project['id']}"
    before = client.get(url, headers=who.headers)
    events = count_aggregate_events(services, project["id"])
    rows = ProjectsProjection.rows

    def failing_rows(self: Any, aggregate: Any) -> dict[str, list[tuple[Any, ...]]]:
        out = rows(self, aggregate)
        out["projects"] = [(*row[:-1], Unsendable()) for row in out["projects"]]
        return out

    monkeypatch.setattr(ProjectsProjection, "rows", failing_rows)
    r = client.patch(url, json=change, headers=who.headers)
    monkeypatch.setattr(ProjectsProjection, "rows", rows)

    assert r.status_code >= 500
    assert count_aggregate_events(services, project["id"]) == events, "the events were committed"
    after = client.get(url, headers=who.headers)
    assert after.status_code == 200, "the read model lost the project's row"
    assert after.content == before.content and after.headers["etag"] == before.headers["etag"]
