"""Real SPARQL servers for tests: `oxigraph serve` and Virtuoso 7 on 127.0.0.1, free ports, throw-away directories.

`start_oxigraph(dir)` / `start_virtuoso(dir)` return once the server answers a query; `.stop()` ends it. The
fixtures `virtuoso` and `oxigraph` start one server each per test session (Virtuoso takes ~15 s to come online),
whichever modules import them (`from servers import oxigraph_server, virtuoso_server`).
"""

from __future__ import annotations

import configparser
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kg.store import open_store
from kg.store.virtuoso import hide_system_graphs_sql

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
ISQL = shutil.which("isql-vt") or "/usr/bin/isql-vt"
VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
VIRTUOSO_USER, VIRTUOSO_PASSWORD = "dba", "dba"  # the defaults of a fresh Virtuoso database
PROBE = "ASK { ?s ?p ?o }"


@dataclass
class SparqlServer:
    """A running server: its endpoints, the KG_STORE spec that reaches it, and its process."""

    name: str
    base: str  # http://127.0.0.1:PORT
    spec: str  # what KG_STORE / --store takes
    directory: Path
    process: subprocess.Popen[bytes]
    sql_port: int | None = None  # Virtuoso's SQL (isql) port
    log: Path | None = None

    def stop(self) -> None:
        """Terminate the server (kill it after 30 s) and wait for it; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def clear(self) -> None:
        """Drop every data graph (Virtuoso's private system graphs stay)."""
        with open_store(self.spec) as store:
            graphs = store.named_graphs()
            if graphs:
                store.update(" ;\n".join(f"DROP SILENT GRAPH <{graph}>" for graph in graphs))

    def bulk_load(self, nquads: Path) -> None:
        """Virtuoso's bulk loader on an N-Quads file, with the isql commands docs/scaling.md gives."""
        target = self.directory / "load" / nquads.name
        shutil.copyfile(nquads, target)
        self.isql(f"DELETE FROM DB.DBA.load_list WHERE ll_file = '{target}'",  # else a second load is skipped
                  f"ld_dir('{target.parent}', '{target.name}', 'urn:x-scholarkg:unnamed-graph')",
                  "rdf_loader_run()", "checkpoint")
        failed = self.isql("SELECT ll_file, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL")
        assert target.name not in failed, failed

    def isql(self, *statements: str) -> str:
        """Run SQL statements through Virtuoso's isql client as dba; their output. AssertionError on failure."""
        assert self.sql_port is not None, f"{self.name} has no SQL port"
        script = "".join(s.rstrip().rstrip(";") + ";\n" for s in statements)
        done = subprocess.run([ISQL, str(self.sql_port), VIRTUOSO_USER, VIRTUOSO_PASSWORD, "VERBOSE=OFF",
                               "BANNER=OFF", "PROMPT=OFF", "ERRORS=STDOUT"], input=script.encode(),
                              capture_output=True, timeout=600, check=False)
        output = done.stdout.decode(errors="replace")
        assert done.returncode == 0 and "*** Error" not in output, output + done.stderr.decode(errors="replace")
        return output


def oxigraph_load(directory: Path, nquads: Path) -> None:
    """`oxigraph load` (the server must not be running on that store) of an N-Quads file into `directory`/data."""
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(OXIGRAPH), "load", "--location", str(directory / "data"), "--file", str(nquads)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def virtuoso_installed() -> bool:
    return Path(VIRTUOSO).exists() and VIRTUOSO_INI.exists()


def start_oxigraph(directory: Path, *, timeout: float = 30) -> SparqlServer:
    """`oxigraph serve --union-default-graph` over the store in `directory`/data, created when missing (the
    default graph is then the union of the named graphs)."""
    port = free_port()
    log = directory / "oxigraph.log"
    command = [str(OXIGRAPH), "serve", "--location", str(directory / "data"), "--bind", f"127.0.0.1:{port}",
               "--union-default-graph"]
    process = _spawn(command, log)
    base = f"http://127.0.0.1:{port}"
    spec = f"query={base}/query update={base}/update gsp={base}/store"
    server = SparqlServer("oxigraph-server", base, spec, directory, process, log=log)
    _wait_for(server, f"{base}/query", timeout)
    return server


def start_virtuoso(directory: Path, *, timeout: float = 90, max_rows: int = 1_000_000) -> SparqlServer:
    """Virtuoso 7 (`virtuoso-t -f`) with its own ini and database in `directory`, on free SQL and HTTP ports,
    its system graphs made private (as docs/scaling.md asks) so that /sparql's union default graph is data only."""
    sql_port, http_port = free_port(), free_port()
    ini = write_virtuoso_ini(directory, sql_port, http_port, max_rows)
    log = directory / "virtuoso.out"
    process = _spawn([VIRTUOSO, "-f", "-c", str(ini)], log, cwd=directory)
    base = f"http://127.0.0.1:{http_port}"
    spec = (f"query={base}/sparql update={base}/sparql-auth gsp={base}/sparql-graph-crud-auth "
            f"user={VIRTUOSO_USER} password={VIRTUOSO_PASSWORD} auth=digest")
    server = SparqlServer("virtuoso", base, spec, directory, process, sql_port=sql_port, log=log)
    _wait_for(server, f"{base}/sparql", timeout)
    try:
        server.isql(*hide_system_graphs_sql())  # the packaged ini's [URIQA] DefaultHost, localhost:8890
    except BaseException:
        server.stop()
        raise
    return server


def write_virtuoso_ini(directory: Path, sql_port: int, http_port: int, max_rows: int = 1_000_000) -> Path:
    """A copy of the packaged virtuoso.ini with every file in `directory` and both ports on 127.0.0.1.

    ResultSetMaxRows (rows a query may return; the package sets 10,000) becomes `max_rows`, and
    `directory/load` is allowed for the bulk loader (ld_dir)."""
    config = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",))
    config.optionxform = str  # type: ignore[assignment,method-assign]  # keep the keys' case
    config.read(VIRTUOSO_INI, encoding="utf-8")
    (directory / "load").mkdir(exist_ok=True)
    files = {"DatabaseFile": "virtuoso.db", "ErrorLogFile": "virtuoso.log", "LockFile": "virtuoso.lck",
             "TransactionFile": "virtuoso.trx", "xa_persistent_file": "virtuoso.pxa"}
    for key, name in files.items():
        config["Database"][key] = str(directory / name)
    config["TempDatabase"]["DatabaseFile"] = str(directory / "virtuoso-temp.db")
    config["TempDatabase"]["TransactionFile"] = str(directory / "virtuoso-temp.trx")
    config["Parameters"]["ServerPort"] = f"127.0.0.1:{sql_port}"
    config["Parameters"]["DirsAllowed"] = f"., /usr/share/virtuoso-opensource-7/vad, {directory / 'load'}"
    config["HTTPServer"]["ServerPort"] = f"127.0.0.1:{http_port}"
    config["SPARQL"]["ResultSetMaxRows"] = str(max_rows)
    ini = directory / "virtuoso.ini"
    with ini.open("w", encoding="utf-8") as out:
        config.write(out)
    return ini


def _spawn(command: list[str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)


def _wait_for(server: SparqlServer, query_url: str, timeout: float) -> None:
    """Poll until the query endpoint answers a query; stop the server and fail with its log if it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            response = httpx.get(query_url, params={"query": PROBE}, timeout=2,
                                 headers={"Accept": "application/sparql-results+json"})
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    tail = server.log.read_text(errors="replace")[-2000:] if server.log else ""
    raise RuntimeError(f"{server.name} did not answer {query_url} within {timeout:.0f} s:\n{tail}")


_SHARED: dict[str, SparqlServer] = {}


def shared_server(name: str, start: Callable[[Path], SparqlServer], factory: pytest.TempPathFactory,
                  config: pytest.Config) -> SparqlServer:
    """One server of this name per test session, whichever modules ask for it; stopped at session end."""
    if name not in _SHARED:
        server = start(factory.mktemp(name))
        _SHARED[name] = server
        config.add_cleanup(lambda: _SHARED.pop(name).stop())
    return _SHARED[name]


@pytest.fixture(scope="session", name="virtuoso")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[SparqlServer]:
    """A Virtuoso server for the whole session. Without the Debian package the tests using it are skipped, except
    in CI (env CI set), where that is a failure: scripts/setup-test installs virtuoso-opensource there."""
    if not virtuoso_installed():
        message = "virtuoso-t is not installed (scripts/setup-test installs virtuoso-opensource)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield shared_server("virtuoso", start_virtuoso, tmp_path_factory, pytestconfig)


@pytest.fixture(scope="session", name="oxigraph")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[SparqlServer]:
    """An `oxigraph serve --union-default-graph` for the whole session."""
    yield shared_server("oxigraph-server", start_oxigraph, tmp_path_factory, pytestconfig)
