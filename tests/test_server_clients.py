"""Clients no one here wrote, against a live endpoint: SPARQLWrapper, rdflib's SERVICE (from another process),
and Comunica 4.x (node, from tests/clients/node_modules, installed by scripts/setup-test)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, LiveServer
from rdflib import Graph
from rdflib.compare import isomorphic
from SPARQLWrapper import GET, JSON, POST, POSTDIRECTLY, TURTLE, XML, SPARQLWrapper

pytestmark = pytest.mark.slow

SKG = "https://w3id.org/scholarkg/ontology#"
TITLES = f"SELECT ?t WHERE {{ ?p <{SKG}title> ?t }} ORDER BY ?t LIMIT 5"
COMUNICA = ROOT / "tests" / "clients" / "node_modules" / ".bin" / "comunica-sparql"


@pytest.fixture(scope="module")
def titles(server: LiveServer) -> list[str]:
    rows = server.get("sparql", params={"query": TITLES}).json()["results"]["bindings"]
    assert len(rows) == 5
    return [row["t"]["value"] for row in rows]


def wrapper(server: LiveServer, method: str, return_format: str, query: str = TITLES) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "sparql")
    client.setMethod(method)
    client.setReturnFormat(return_format)
    client.setQuery(query)
    return client


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_json(server: LiveServer, titles: list[str], method: str) -> None:
    result = wrapper(server, method, JSON).queryAndConvert()
    assert [row["t"]["value"] for row in result["results"]["bindings"]] == titles  # type: ignore[index,call-overload]


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_xml(server: LiveServer, titles: list[str], method: str) -> None:
    document = wrapper(server, method, XML).queryAndConvert()
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert literals == titles


def test_sparqlwrapper_posts_directly_and_reads_construct(server: LiveServer) -> None:
    graph_iri = next(g for g in server.store.named_graphs() if g.endswith("/provenance"))
    client = wrapper(server, POST, TURTLE, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}")
    client.setRequestMethod(POSTDIRECTLY)
    converted = client.queryAndConvert()
    graph = Graph().parse(data=converted, format="turtle")  # type: ignore[arg-type]
    assert isomorphic(graph, Graph().parse(data=server.store.graph_ntriples(graph_iri), format="nt"))


def test_rdflib_service_from_another_process(server: LiveServer, titles: list[str]) -> None:
    script = textwrap.dedent(f"""
        import json
        from rdflib import Graph
        rows = Graph().query('''SELECT ?t WHERE {{
            SERVICE <{server.url}sparql> {{ ?p <{SKG}title> ?t }} }} ORDER BY ?t LIMIT 5''')
        print(json.dumps([str(row[0]) for row in rows]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == titles


def _comunica(server: LiveServer, query: str) -> dict[str, object]:
    assert COMUNICA.exists(), "Comunica is missing: run scripts/setup-test (npm ci in tests/clients)"
    assert shutil.which("node"), "node is needed for the Comunica test"
    done = subprocess.run([str(COMUNICA), server.url + "sparql", "-t", "application/sparql-results+json", query],
                          capture_output=True, text=True, timeout=120, check=False, cwd=COMUNICA.parents[2])
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_comunica_finds_the_endpoint_by_its_service_description(server: LiveServer, titles: list[str]) -> None:
    result = _comunica(server, TITLES)
    rows = result["results"]["bindings"]  # type: ignore[index]
    assert [row["t"]["value"] for row in rows] == titles


def test_comunica_counts_what_we_count(server: LiveServer) -> None:
    count = f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p a <{SKG}Paper> }}"
    ours = server.get("sparql", params={"query": count}).json()["results"]["bindings"][0]["n"]["value"]
    theirs = _comunica(server, count)["results"]["bindings"][0]["n"]["value"]  # type: ignore[index]
    assert theirs == ours and int(ours) > 10
