// The README walkthrough through a client generated from avm's OpenAPI document: types by openapi-typescript
// (generated/avm.ts, made by tests/clients/test_generated_clients.py), calls by openapi-fetch; compiled with
// tsc --strict. `node build/walkthrough.js URL TENANT_TOKEN WORKER_TOKEN`. Every header (If-Match,
// Idempotency-Key) is a typed parameter of the call; exits non-zero at the first undocumented answer.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/avm.js";

type Project = components["schemas"]["ProjectOut"];

const STORY =
  "Once upon a time a small fox lived at the edge of a pine forest by the sea. Every evening she climbed the " +
  "dunes to watch the old lighthouse wake up and sweep its long arm of light across the water.\n\n" +
  "One stormy night the light did not come on. The fox ran down to the rocks, where the keeper had slipped " +
  "and hurt his leg, and she barked until the fishermen in the harbour heard her and came with lanterns.\n\n" +
  "From then on the keeper left a bowl of warm milk on the lighthouse steps, and the fox never missed an " +
  "evening at the top of the dunes, watching the light turn and turn until the morning came.";

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`walkthrough failed: ${what}`);
}

function step(name: string): void {
  console.log(`ok: ${name}`);
}

async function main(url: string, tenantToken: string, workerToken: string): Promise<void> {
  const tenant = createClient<paths>({ baseUrl: url, headers: { Authorization: `Bearer ${tenantToken}` } });
  const worker = createClient<paths>({ baseUrl: url, headers: { Authorization: `Bearer ${workerToken}` } });

  const created = await tenant.POST("/api/v1/projects", { body: { title: "My first video" } });
  check(created.response.status === 201 && created.data !== undefined, "create answers 201");
  const project: Project = created.data;
  check(created.response.headers.get("ETag") === '"1"', "create sends ETag \"1\"");
  check((created.response.headers.get("Location") ?? "").endsWith(project.id), "create sends Location");
  step('create: 201, Location and ETag "1"');

  const byId = { params: { path: { project_id: project.id } } };
  const read = await tenant.GET("/api/v1/projects/{project_id}", byId);
  check(read.data !== undefined, "read answers 200");
  const etag = read.response.headers.get("ETag") ?? "";
  step(`read: ETag ${etag}`);

  const rename = {
    params: { path: { project_id: project.id }, header: { "If-Match": etag } },
    body: { title: "The fox and the lighthouse" },
  };
  const renamed = await tenant.PATCH("/api/v1/projects/{project_id}", rename);
  check(renamed.data?.title === "The fox and the lighthouse", "PATCH with If-Match renames");
  check(renamed.response.headers.get("ETag") === '"2"', "PATCH answers ETag \"2\"");
  step("PATCH with If-Match: 200");

  const stale = await tenant.PATCH("/api/v1/projects/{project_id}", rename);
  check(stale.response.status === 412 && stale.error?.status === 412, "a stale If-Match answers 412");
  step(`the same PATCH again: 412 ${stale.error.title}`);

  const story = await tenant.PUT("/api/v1/projects/{project_id}/story", { ...byId, body: { text: STORY } });
  check(story.data !== undefined && story.data.items.length >= 3, "the story is segmented");
  const scenes = story.data.items;
  const ready = await tenant.GET("/api/v1/projects/{project_id}", byId);
  check(ready.data?.status === "ready", "the project is ready");
  step(`story: ${scenes.length} scenes, status ready`);

  const cut = scenes[0].text.indexOf(". ") + 1;
  const split = await tenant.POST("/api/v1/projects/{project_id}/scenes/edit", {
    params: { path: { project_id: project.id }, header: { "If-Match": story.response.headers.get("ETag") ?? "" } },
    body: { op: "split", index: 0, position: cut },
  });
  check(split.data?.items.length === scenes.length + 1, "split adds a scene");
  const merged = await tenant.POST("/api/v1/projects/{project_id}/scenes/edit", {
    ...byId, body: { op: "merge", indexes: [0, 1] },
  });
  check(merged.data?.items.length === scenes.length, "merge removes it again");
  const prompted = await tenant.POST("/api/v1/projects/{project_id}/scenes/edit", {
    ...byId, body: { op: "update", index: 0, prompt: "a fox on a dune at dusk, watercolour" },
  });
  check(prompted.data?.items[0].prompt?.startsWith("a fox") === true, "update sets the prompt");
  step("scene edits: split, merge, update");

  const events = await tenant.GET("/api/v1/projects/{project_id}/history", byId);
  check(events.data !== undefined && events.data.items[0].type === "Project.Created", "history starts with Created");
  check(events.data.items.every((e, i) => e.version === i + 1 && e.hash.length > 0), "history is in version order");
  step(`history: ${events.data.items.length} events`);

  const then = await tenant.GET("/api/v1/projects/{project_id}", {
    params: { path: { project_id: project.id }, query: { at: 1 } },
  });
  check(then.data?.title === "My first video" && then.response.headers.get("ETag") === '"1"', "?at=1 is version 1");
  step("?at=1: the project as it was at version 1");

  const current = await tenant.GET("/api/v1/projects/{project_id}", byId);
  const gone = await tenant.DELETE("/api/v1/projects/{project_id}", {
    params: { path: { project_id: project.id }, header: { "If-Match": current.response.headers.get("ETag") ?? "" } },
  });
  check(gone.response.status === 204, "delete answers 204");
  const missing = await tenant.GET("/api/v1/projects/{project_id}", byId);
  check(missing.response.status === 404 && missing.error?.status === 404, "a deleted project answers 404");
  const back = await tenant.POST("/api/v1/projects/{project_id}/restore", byId);
  check(back.data !== undefined && back.data.deleted_at === null, "restore answers the live project");
  step("delete: 204, then 404; restore: 200");

  const key = `walkthrough-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const queue = { params: { path: { project_id: project.id }, header: { "Idempotency-Key": key } }, body: {} };
  const queued = await tenant.POST("/api/v1/projects/{project_id}/jobs", queue);
  check(queued.response.status === 201 && queued.data !== undefined, "queue answers 201");
  const again = await tenant.POST("/api/v1/projects/{project_id}/jobs", queue);
  check(again.data?.id === queued.data.id, "the same Idempotency-Key answers the same job");
  check(again.response.headers.get("Idempotent-Replayed") === "true", "the repeat is a replay");
  step(`queue with an Idempotency-Key: 201, replayed once (expected cost ${JSON.stringify(queued.data.estimate)})`);

  const claimed = await worker.POST("/api/v1/jobs/claim", {});
  check(claimed.response.status === 200 && claimed.data !== undefined, "claim answers 200");
  const job = claimed.data;
  check(job !== null && job.id === queued.data.id && job.status === "running", "the worker runs our job");
  const byJob = { params: { path: { job_id: job.id } } };
  const progress = await worker.POST("/api/v1/jobs/{job_id}/progress", {
    ...byJob, body: { step: "video_render", percentage: 50 },
  });
  check(progress.response.status === 200, "progress answers 200");
  const done = await worker.POST("/api/v1/jobs/{job_id}/complete", { ...byJob, body: { cost_actual: 0.42 } });
  check(done.data?.status === "succeeded", "complete answers the succeeded job");
  const seen = await tenant.GET("/api/v1/jobs/{job_id}", byJob);
  check(seen.data?.status === "succeeded", "the tenant sees it succeeded");
  step("worker: claim, progress, complete; the tenant sees it succeeded");
  console.log("walkthrough complete");
}

const [url, tenantToken, workerToken] = process.argv.slice(2);
main(url, tenantToken, workerToken).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
