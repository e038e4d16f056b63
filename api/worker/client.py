"""The worker contract's client (docs/worker-contract.md), over HTTP only: claim, report, upload, complete, fail.

Answers are sorted into what the worker does next: a `409` on a report means the job is no longer
this worker's (`JobStopped`: cancelled, or the lease lost: expired, swept, or taken over); a
`401`/`403` is a configuration error (`WorkerRejected`); a transport error or a `5xx` is retried a
few times, then `ServiceUnavailable`.
"""
from __future__ import annotations

import hashlib
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("avm.worker")
API = "/api/v1"
ATTEMPTS = 4             # per request, on a transport error or a 5xx
BACKOFF_SECONDS = 0.5    # doubled after each


class JobStopped(Exception):
    """The job is no longer this worker's to render: cancelled by its owner, or the lease is lost."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class WorkerRejected(Exception):
    """The service refuses this worker (a bad token, or not a worker account)."""


class ServiceUnavailable(Exception):
    """The service did not answer (or answered 5xx) after a few tries."""


class ContractError(Exception):
    """The service refused a request as invalid (4xx other than 401/403/409): a bug on our side."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail") or body.get("title") or body)[:300] if isinstance(body, dict) else str(body)[:300]


class ServiceClient:
    """One worker account's connection to the service (thread-safe: the heartbeat shares it)."""

    def __init__(self, url: str, token: str, timeout: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/") + API, timeout=timeout, transport=transport,
                                 headers={"Authorization": f"Bearer {token}", "User-Agent": "avm-reference-worker/1"})

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        wait = BACKOFF_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return self._judge(response)
                problem = f"{response.status_code} {_detail(response)}"
            if attempt == ATTEMPTS:
                raise ServiceUnavailable(f"{method} {path}: {problem}")
            log.warning("%s %s: %s; again in %.1f s", method, path, problem, wait)
            time.sleep(wait)
            wait *= 2
            if "content" in kwargs and hasattr(kwargs["content"], "seek"):
                kwargs["content"].seek(0)
        raise AssertionError("unreachable")

    @staticmethod
    def _judge(response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        detail = _detail(response)
        if status in (401, 403):
            raise WorkerRejected(f"{status}: {detail} (is the token a worker's?)")
        if status in (404, 409):  # 404: a job this worker no longer holds reads as one that does not exist
            reason = "cancelled" if "cancelled" in detail else "lease lost"
            raise JobStopped(reason, detail)
        raise ContractError(f"{response.request.method} {response.request.url.path}: {status} {detail}")

    # -- the contract ------------------------------------------------------------------------------
    @staticmethod
    def _key(what: str) -> dict[str, str]:
        """An Idempotency-Key for one command, the same on each of its retries: a claim, complete or
        fail whose answer was lost is answered again, not applied twice (a second claim would take a
        second job and leave the first to its lease's expiry)."""
        return {"Idempotency-Key": f"worker-{what}-{uuid.uuid4()}"}

    def claim(self) -> dict[str, Any] | None:
        """The next job's manifest, or None when nothing is waiting."""
        response = self._send("POST", "/jobs/claim", headers=self._key("claim"))
        return None if response.status_code == 204 else dict(response.json())

    def progress(self, job_id: str, lease_id: str, step: str, percentage: float) -> dict[str, Any]:
        """A report, also the heartbeat: the job as the service now sees it (its `lease.expires_at`)."""
        return dict(self._send("POST", f"/jobs/{job_id}/progress",
                               json={"step": step, "percentage": round(percentage, 2), "lease_id": lease_id}).json())

    def upload(self, job_id: str, lease_id: str, path: Path, kind: str, content_type: str,
               **params: Any) -> dict[str, Any]:
        """Store a file as an output of the job: the registered asset."""
        query = {"type": kind, "checksum": sha256_of(path), "lease_id": lease_id,
                 **{k: v for k, v in params.items() if v is not None}}
        with path.open("rb") as body:
            response = self._send("POST", f"/jobs/{job_id}/outputs", params=query, content=body,
                                  headers={"Content-Type": content_type,
                                           "Content-Length": str(path.stat().st_size)})
        return dict(response.json())

    def complete(self, job_id: str, lease_id: str, video_asset_id: str, cost_actual: float | None = None) -> None:
        body: dict[str, Any] = {"video_asset_id": video_asset_id, "lease_id": lease_id}
        if cost_actual is not None:
            body["cost_actual"] = cost_actual
        self._send("POST", f"/jobs/{job_id}/complete", json=body, headers=self._key("complete"))

    def fail(self, job_id: str, lease_id: str, code: str, message: str, retryable: bool,
             details: dict[str, Any] | None = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message[:2000] or code, "retryable": retryable}
        if details:
            error["details"] = details
        self._send("POST", f"/jobs/{job_id}/fail", json={"error": error, "lease_id": lease_id}, headers=self._key("fail"))
