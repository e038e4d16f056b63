"""The suite's servers: starting each in its own session with its output logged (secrets
redacted), finding the embedded PostgreSQL, and stopping everything at the end."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from procfs import ODD, _read, _signal, _stat_fields, _wait_gone, leftovers


class SuiteFailure(RuntimeError):
    pass



class ServerProc:
    """A server started in its own session, its console output logged (secrets redacted)."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int, health: str,
                 log_path: Path) -> None:
        self.name, self.cmd, self.port, self.health = name, cmd, port, health
        self.lines: list[str] = []
        self.secrets: list[str] = []
        self._log = open(log_path, "w")
        self.log_path = log_path
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, start_new_session=True)
        self.exited_early: int | None = None
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = re.sub(r"(demo token:\s*)\S+", r"\1<redacted>", line.rstrip("\n"))
            for secret in self.secrets:
                line = line.replace(secret, "<redacted>")
            self.lines.append(line)
            self._log.write(line + "\n")
            self._log.flush()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} before it was ready;"
                                   f" last output: {self.lines[-5:]}")
            try:
                status, _ = self.get(self.health, timeout=2.0)
                if status == 200:
                    return time.perf_counter() - self.t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s")

    def stop(self, timeout: float) -> dict[str, Any]:
        out: dict[str, Any] = {"signal": "SIGINT", "killed": False}
        started = time.perf_counter()
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
                out["killed"] = True
        else:
            out["signal"] = None
            out["already_exited"] = True
        out["exit_code"] = self.proc.returncode
        out["seconds"] = round(time.perf_counter() - started, 2)
        self._reader.join(5)
        self._log.close()
        return out



def postmaster_info(data_dir: Path) -> dict[str, Any] | None:
    """pid, port and socket directory of the embedded server, from <data>/pg/postmaster.pid."""
    text = _read(str(data_dir / "pg" / "postmaster.pid"))
    if not text:
        return None
    lines = text.splitlines()
    pid = int(lines[0])
    if not os.path.exists(f"/proc/{pid}"):
        return None
    return {"pid": pid, "port": int(lines[3]), "socket_dir": lines[4].strip()}



def pg_conninfo(pm: dict[str, Any], dbname: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(host=pm["socket_dir"], port=str(pm["port"]), user="postgres", dbname=dbname)



class Shutdown:
    """Suite method: stop every server (avm last), check PostgreSQL and every process is gone."""

    def stop_all(self) -> None:
        self.sampler.stop_event.set()
        if self.services is not None:
            try:
                self.services.close()
            except Exception:  # noqa: BLE001
                pass
        pg = self.postmaster_pid() or (self._pm or {}).get("pid")
        shutdown: dict[str, Any] = {}
        crashed = []
        for name in ("hello", "read_row", "reference", "projectors", "avm"):  # avm last: it stops the embedded PostgreSQL
            server = self.servers.get(name)
            if server is None:
                continue
            if not server.alive():
                crashed.append(f"{name} exited early with code {server.proc.returncode}")
            shutdown[name] = server.stop(self.args.stop_timeout)
        if pg is not None:
            stopped = _wait_gone(pg, self.args.stop_timeout)
            shutdown["postgres_stopped_by_avm"] = stopped
            if not stopped:  # stop it ourselves: fast shutdown, then SIGKILL
                _signal(pg, signal.SIGINT)
                if not _wait_gone(pg, self.args.stop_timeout):
                    _signal(pg, signal.SIGKILL)
                    _wait_gone(pg, 5)
            shutdown["postgres_running_after"] = not _wait_gone(pg, 0.5)
        self.report["shutdown"] = shutdown
        self.report["crashes"] = crashed
        time.sleep(0.2)
        still = []
        for name, pids in self.sampler.seen.items():
            for pid in sorted(pids):
                f = _stat_fields(pid)
                if f is not None and f[0] != "Z":
                    cmd = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
                    still.append(f"{pid} ({name}) {cmd[:200]}")
        self.report["leftover_processes"] = leftovers(str(self.workdir)) + still
        if not self.args.keep and not self.report["leftover_processes"]:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.report["server_output"] = {name: {"log": str(s.log_path), "lines": len(s.lines),
                                               "odd_lines": [ln for ln in s.lines if ODD.search(ln)][:50]}
                                        for name, s in self.servers.items()}
