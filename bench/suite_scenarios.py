"""The suite's scenarios (what each measures, on which server) and their preparation: the pools of
projects, the long `?at=` stream and the tenants, made in-process through the application, outside
the measured runs. bench/scenarios.py holds the requests themselves (run inside bench/loadgen.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

STORY_SENTENCES = [
    "The lighthouse keeper of Keelung had not seen a ship in forty days, and the harbour was silent.",
    "Every evening she climbed the hundred and twelve steps, trimmed the wick, and watched the grey water.",
    "On the forty-first night a small boat drifted into the harbour with no one aboard and no lamp lit.",
    "Inside it lay a wooden box, a compass that pointed east instead of north, and a letter with her name.",
    "She read the letter twice by the lamp's light, folded it into her coat, and sat until the tide turned.",
    "At dawn she packed bread, the strange compass and her father's coat, and rowed out past the breakwater.",
    "The needle never wavered; it led her through fog banks and past islands that were on no chart she knew.",
    "On the third day a kite of red paper circled above the boat, trailing a string that vanished into cloud.",
    "She followed it to a village of stilt houses, where children ran along the walkways shouting her name.",
    "An old carpenter met her at the jetty and said the village had kept a lantern burning for her for years.",
]



def make_story(target_chars: int = 4000) -> str:
    paragraphs, para, total, i = [], [], 0, 0
    while total < target_chars:
        sentence = STORY_SENTENCES[i % len(STORY_SENTENCES)]
        para.append(sentence)
        total += len(sentence) + 1
        i += 1
        if len(para) == 4:
            paragraphs.append(" ".join(para))
            para = []
    if para:
        paragraphs.append(" ".join(para))
    return "\n\n".join(paragraphs)[:target_chars].rsplit(" ", 1)[0] + "."



@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: str            # "avm", "reference", "hello" or "read_row"
    kind: str              # "write", "read" or "baseline"
    factory: str | None = None  # a function of bench/scenarios.py used as loadgen --factory
    flow: str | None = None     # ... or as loadgen --flow



TENANTS16 = 16  # tenants of create_project_tenants (bench/scenarios.py walks them round-robin)


SCENARIOS = [
    Scenario("hello", "GET /hello (Litestar hello-world)", "hello", "baseline", factory="hello"),
    Scenario("read_row", "GET /rows/{id} (read yardstick: one row by primary key, async psycopg pool)", "read_row",
             "baseline", factory="read_row"),
    Scenario("get_project", "GET /api/v1/projects/{id}", "avm", "read", factory="get_project"),
    Scenario("reference_append", "POST /events (reference: stock eventsourcing, 1 event)", "reference", "baseline",
             factory="reference_append"),
    Scenario("create_project", "POST /api/v1/projects", "avm", "write", factory="create_project"),
    Scenario("create_project_tenants", "POST /api/v1/projects, 16 tenants", "avm", "write",
             factory="create_project_tenants"),
    Scenario("update_project", "PATCH /api/v1/projects/{id} {title}", "avm", "write", factory="update_project"),
    Scenario("set_story", "PUT /api/v1/projects/{id}/story (~4,000 chars, ~20 scenes)", "avm", "write",
             factory="set_story"),
    Scenario("job_cycle", "queue + claim + complete a job (3 commands)", "avm", "write", flow="job_flow"),
    Scenario("list_projects", "GET /api/v1/projects (first page, 20)", "avm", "read", factory="list_projects"),
    Scenario("audit_events", "GET /api/v1/audit/events?limit=50", "avm", "read", factory="audit_events"),
    Scenario("project_at_version", "GET /api/v1/projects/{id}?at=<v> (10,000-event stream)", "avm", "read",
             factory="project_at_version"),
]


BY_KEY = {s.key: s for s in SCENARIOS}


BIG_STORE_SCENARIOS = [
    BY_KEY["create_project"], BY_KEY["audit_events"],
    Scenario("audit_events_preloaded_tenant", "GET /api/v1/audit/events?limit=50 as a preloaded tenant", "avm",
             "read", factory="audit_events_preloaded_tenant"),
]

SOAK = Scenario("soak", "mixed: POST project, GET it, GET list", "avm", "write", flow="soak_flow")



class Preparation:
    """Suite methods: the data a scenario needs, made before it is measured."""

    def make_projects(self, count: int, prefix: str, story: bool, batch: int = 200) -> list[str]:
        """`count` projects of the admin tenant, appended in-process through the application
        (one transaction per `batch` projects; inline projections written as by a command)."""
        from domain.projects import Project

        services = self.app_services()
        ctx = self.admin_ctx(f"prepare-{prefix}")
        ids: list[str] = []
        for start in range(0, count, batch):
            projects = []
            for i in range(start, min(count, start + batch)):
                p = Project.create(tenant_id=self.admin["id"], title=f"{prefix} {i}")
                if story:
                    p.set_story(self.spec["story"])
                projects.append(p)
            services.app._save(ctx, *projects)  # noqa: SLF001 - the application's own save (tenants, projections)
            ids += [str(p.id) for p in projects]
        return ids

    def build_stream(self, events: int) -> dict[str, Any]:
        """A project with `events` events: created, then renamed events-1 times, 250 renames per
        command, through the application (so snapshots are taken every 100 versions as usual).
        It belongs to a tenant of its own (an admin created for it), so the other scenarios'
        tenant does not grow, and its reads are made with that tenant's token."""
        from domain.projects import Project

        owner = self.new_user("stream", "admin")
        services = self.app_services()
        ctx = self.admin_ctx("stream", owner["id"])
        started = time.perf_counter()
        project = Project.create(tenant_id=owner["id"], title="stream v1")
        services.app._save(ctx, project)  # noqa: SLF001
        pid = str(project.id)
        while project.version < events:
            todo = min(250, events - project.version)

            project = services.app.load(Project, pid, ctx.tenant_id)
            for _ in range(todo):
                project.rename(f"stream v{project.version + 1}")
            services.app._save(ctx, project)  # noqa: SLF001 - many renames in one save, as no command does
        with services.read(scope="system") as conn:
            snaps = conn.execute("SELECT count(*) AS n FROM snapshots WHERE originator_id = %s",
                                 (project.id,)).fetchone()["n"]
        return {"project_id": pid, "events": project.version, "snapshots": snaps,
                "seconds": round(time.perf_counter() - started, 2)}

    def prepare(self, sc: Scenario) -> None:
        prep = self.report["preparation"]
        t0 = time.perf_counter()
        if sc.key in ("get_project", "update_project") and "update" not in self.spec["pools"]:
            ids = self.make_projects(256, "pool", story=False)
            self.spec["pools"]["update"] = self.spec["pools"]["read"] = ids
            prep["read_and_update_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "set_story":
            ids = self.make_projects(self.initial_pool(), "story", story=False)
            self.spec["pools"]["story"] = ids
            prep["story_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "job_cycle":
            ids = self.make_projects(self.initial_pool(), "job", story=True)
            self.spec["pools"]["jobs"] = ids
            prep["job_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "create_project":
            # a fresh tenant for each create measurement (empty store, big store): both start from
            # the same tenant state, and the admin tenant of the other scenarios stays as it is
            user = self.new_user("create", "admin")
            prep.setdefault("create_tenants", []).append(user["id"])
        elif sc.key == "create_project_tenants" and "tenants16_0" not in self.spec["tokens"]:
            # one tenant's creates are serialised by its daily quota counter (decisions #27); the
            # same load spread over 16 tenants, as a multi-tenant service sees it
            for i in range(TENANTS16):
                self.new_user(f"tenants16_{i}", "admin")
        elif sc.key == "project_at_version" and "stream" not in self.spec:
            self.log(f"  building a {self.args.stream_events:,}-event stream in-process ...")
            self.spec["stream"] = self.build_stream(self.args.stream_events)
            prep["stream"] = self.spec["stream"]
        self.write_spec()

    def initial_pool(self) -> int:
        return max(100, int(self.args.warmup * 100) + 64)

    def top_up(self, sc: Scenario, warm: dict[str, Any]) -> bool:
        """Before the measured run: enough fresh projects for it, judged from the warm-up's rate (x2)."""
        pool_name = {"set_story": "story", "job_cycle": "jobs"}.get(sc.key)
        if pool_name is None:
            return False
        rate = warm.get("iterations_per_s") or warm.get("requests_per_s") or 0
        need = self.next_n[sc.key] + int(2 * rate * self.args.duration) + 64
        pool = self.spec["pools"][pool_name]
        if need > len(pool):
            t0 = time.perf_counter()
            pool += self.make_projects(need - len(pool), pool_name, story=(sc.key == "job_cycle"))
            self.report["preparation"][f"{pool_name}_pool_top_up"] = {
                "projects_total": len(pool), "seconds": round(time.perf_counter() - t0, 2)}
            self.write_spec()
            return True
        return False
