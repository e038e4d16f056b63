"""Optimistic concurrency over HTTP: 200 concurrent updates of one project."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def contended_updates(client: Any, tenant: Any, **headers: str) -> tuple[dict[str, Any], Counter[int]]:
    """A new project, then 200 renames of it from 20 threads (the first 20 released at once), each
    with `headers`: the project as created and the count of each status answered."""
    project = client.post("/api/v1/projects", json={"title": "contended"}, headers=tenant.headers).json()
    barrier = threading.Barrier(20)

    def update(i: int) -> int:
        if i < 20:
            barrier.wait()
        return client.patch(f"/api/v1/projects/{project['id']}", json={"title": f"t{i}"},
                            headers={**tenant.headers, **headers}).status_code

    with ThreadPoolExecutor(20) as pool:
        return project, Counter(pool.map(update, range(200)))


def test_200_concurrent_updates_with_the_same_if_match_give_one_200_and_199_412(client: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    project, codes = contended_updates(client, tenant, **{"If-Match": '"1"'})

    assert codes == {200: 1, 412: 199}
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["version"] == 2


def test_200_concurrent_updates_without_if_match_all_apply_in_some_order(client: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    project, codes = contended_updates(client, tenant)

    assert codes == {200: 200}
    after = client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()
    assert after["version"] == 1 + 200
    history = client.get(f"/api/v1/projects/{project['id']}/history", headers=tenant.headers).json()["items"]
    assert [e["version"] for e in history] == list(range(1, 202))
