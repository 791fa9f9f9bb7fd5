"""Child processes of the benchmarks: servers on free 127.0.0.1 ports waited on until ready, and timed commands
with the peak RSS of that one child (os.wait4), so nothing else on the machine is counted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.machine import ROOT

BIN = Path(sys.executable).parent  # the venv's scripts: kg, oxigraph, rdflib-endpoint


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Timed:
    """A finished command: exit code, wall seconds, the child's own peak RSS."""

    returncode: int
    seconds: float
    peak_rss_bytes: int

    def json(self) -> dict[str, Any]:
        return {"returncode": self.returncode, "seconds": round(self.seconds, 3),
                "peak_rss_mib": round(self.peak_rss_bytes / 2**20, 1)}


def timed_run(command: list[str], log: Path, env: dict[str, str] | None = None) -> Timed:
    """Run `command` to its end (output to `log`): its wall time and its peak RSS (ru_maxrss of that child)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("ab") as out:
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return Timed(child.returncode, time.perf_counter() - started, usage.ru_maxrss * 1024)


@dataclass
class Server:
    """One HTTP server under test: its command, where it answers queries, and how to tell it is ready."""

    name: str
    command: list[str]
    port: int
    query_path: str  # where SPARQL queries go by GET
    ready_path: str  # answers 200 once the server can serve
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + self.query_path

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env}, start_new_session=True)
        out.close()

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start until `ready_path` answered 200; RuntimeError if the process died or timed out.

        One probe at a time, waited for as long as it takes: a probe given up on while the server still works on
        it would pile work up (a /healthz that scans the store, asked again every few seconds)."""
        deadline = self.started_at + timeout
        with httpx.Client() as client:
            while time.perf_counter() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.name}: exited before it was ready; see {self.log}")
                try:
                    wait = httpx.Timeout(5.0, read=max(1.0, deadline - time.perf_counter()))
                    if client.get(self.base + self.ready_path, timeout=wait).status_code == 200:
                        return time.perf_counter() - self.started_at
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s; see {self.log}")

    def rss(self) -> dict[str, float]:
        """Current and peak resident memory of the server process, MiB."""
        figures: dict[str, float] = {}
        if self.process is None:
            return figures
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    figures["rss_mib" if key == "VmRSS" else "peak_rss_mib"] = round(int(value.split()[0]) / 1024, 1)
        except OSError:
            pass
        return figures

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
