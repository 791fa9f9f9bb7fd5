"""End to end through the `kg` command on the seeds: ingest, query, validate, export, stats, backup/restore."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KG = str(Path(sys.executable).parent / "kg")
SCHEMA = "PREFIX schema: <http://schema.org/>\n"


def kg(*args: str, store: Path | None = None, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    if store is not None:
        env["KG_STORE"] = str(store)
    result = subprocess.run([KG, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    if check is not None:
        assert result.returncode == check, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def select(store: Path, query: str) -> list[dict[str, str]]:
    data = json.loads(kg("query", "--format", "json", SCHEMA + query, store=store).stdout)
    return [{name: cell["value"] for name, cell in row.items()} for row in data["results"]["bindings"]]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "store"
    result = kg("ingest", str(SEEDS), store=path)
    assert "documents" in result.stdout
    return path


def test_ingest_reports_the_seed_warnings(store: Path) -> None:
    again = kg("ingest", str(SEEDS / "000_88a5c554b0bac8dd.txt"), store=store)
    assert "h-index 117 is greater than the number of papers 15" in again.stderr


def test_sixty_three_distinct_scholarly_articles_with_schema_terms(store: Path) -> None:
    rows = select(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a schema:ScholarlyArticle ; "
                         "schema:name ?t ; schema:datePublished ?d ; schema:author ?a . ?a schema:name ?an }")
    assert rows == [{"n": "63"}]
    dates = select(store, "SELECT DISTINCT (DATATYPE(?d) AS ?t) WHERE { ?p schema:datePublished ?d }")
    assert dates == [{"t": "http://www.w3.org/2001/XMLSchema#date"}]


def test_gemini_papers_are_shared_by_both_profiles(store: Path) -> None:
    rows = select(store, """PREFIX skg: <https://w3id.org/scholarkg/ontology#>
        SELECT ?title (COUNT(DISTINCT ?snapshot) AS ?profiles) WHERE {
          ?snapshot skg:lists ?p . ?p schema:name ?title . FILTER(STRSTARTS(?title, "Gemini"))
        } GROUP BY ?title""")
    shared = {row["title"][:10] for row in rows if row["profiles"] == "2"}
    assert shared == {"Gemini 1.5", "Gemini 2.5"}


@pytest.mark.parametrize(("owner", "papers"), [("Shariq Iqbal", 15), ("Igor Mordatch", 50)])
def test_profile_owner_is_author_of_every_listed_paper(store: Path, owner: str, papers: int) -> None:
    rows = select(store, f"""PREFIX skg: <https://w3id.org/scholarkg/ontology#>
        SELECT (COUNT(DISTINCT ?p) AS ?listed) (COUNT(DISTINCT ?authored) AS ?authored_n) WHERE {{
          ?snapshot skg:describes ?person ; skg:lists ?p . ?person a schema:Person ; schema:name "{owner}" .
          OPTIONAL {{ ?p schema:author ?person . BIND(?p AS ?authored) }}
        }}""")
    assert rows == [{"listed": str(papers), "authored_n": str(papers)}]


def test_fei_sha_in_a_byline_is_one_person_node(store: Path) -> None:
    rows = select(store, 'SELECT DISTINCT ?a WHERE { ?p schema:author ?a . ?a schema:name "Fei Sha" }')
    assert len(rows) == 1 and rows[0]["a"].endswith("/person/fei-sha")


def test_query_formats(store: Path) -> None:
    query = SCHEMA + "SELECT ?n WHERE { ?a a schema:Person ; schema:name ?n } ORDER BY ?n LIMIT 3"
    rows = list(csv.reader(io.StringIO(kg("query", "--format", "csv", query, store=store).stdout)))
    assert rows[0] == ["n"] and len(rows) == 4
    table = kg("query", query, store=store).stdout
    assert rows[1][0] in table
    turtle = kg("query", "--format", "turtle", "CONSTRUCT WHERE { ?s a <http://schema.org/Person> } LIMIT 5",
                store=store).stdout
    assert len(Graph().parse(data=turtle, format="turtle")) == 5


def test_query_from_file_and_syntax_error(store: Path, tmp_path: Path) -> None:
    query_file = tmp_path / "q.rq"
    query_file.write_text("ASK { ?s ?p ?o }")
    assert "true" in kg("query", f"@{query_file}", store=store).stdout
    bad = kg("query", "SELEC ?x", store=store, check=2)
    assert bad.stderr.startswith("error: SPARQL query: error at 1:")


def test_turtle_and_jsonld_exports_hold_the_same_graph(store: Path, tmp_path: Path) -> None:
    kg("export", "--format", "turtle", "-o", str(tmp_path / "kg.ttl"), store=store)
    kg("export", "--format", "jsonld", "-o", str(tmp_path / "kg.jsonld"), store=store)
    turtle = Graph().parse(data=(tmp_path / "kg.ttl").read_bytes(), format="turtle")
    jsonld = Graph().parse(data=(tmp_path / "kg.jsonld").read_bytes(), format="json-ld")
    assert len(turtle) > 5000
    assert isomorphic(turtle, jsonld)


def test_nquads_and_trig_exports_keep_the_named_graphs(store: Path, tmp_path: Path) -> None:
    kg("export", "--format", "nquads", "-o", str(tmp_path / "kg.nq"), store=store)
    kg("export", "--format", "trig", "-o", str(tmp_path / "kg.trig"), store=store)
    nquads = _quads((tmp_path / "kg.nq").read_bytes(), pyoxigraph.RdfFormat.N_QUADS)
    trig = _quads((tmp_path / "kg.trig").read_bytes(), pyoxigraph.RdfFormat.TRIG)
    assert len({quad.graph_name for quad in nquads}) == 6
    assert nquads == trig


def _quads(data: bytes, fmt: pyoxigraph.RdfFormat) -> set[pyoxigraph.Quad]:
    return set(pyoxigraph.parse(data, fmt))


def _dump(store: Path, tmp_path: Path, name: str) -> set[pyoxigraph.Quad]:
    kg("export", "--format", "nquads", "-o", str(tmp_path / name), store=store)
    return _quads((tmp_path / name).read_bytes(), pyoxigraph.RdfFormat.N_QUADS)


def test_malformed_document_is_refused_and_leaves_the_store_unchanged(store: Path, tmp_path: Path) -> None:
    before = _dump(store, tmp_path, "before.nq")
    bad = tmp_path / "bad.txt"
    lines = (SEEDS / "000_88a5c554b0bac8dd.txt").read_text(encoding="utf-8").splitlines()
    lines[11] = "LGFeb 30, 2023Code"
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = kg("ingest", str(bad), store=store, check=2)
    assert f"{bad}:12: expected a date like 'May 27, 2022', got 'Feb 30, 2023'" in result.stderr
    after = _dump(store, tmp_path, "after.nq")
    assert before == after and len(before) > 5000


def test_good_documents_are_ingested_beside_a_bad_one(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEEDS / "000_88a5c554b0bac8dd.txt", folder)
    (folder / "empty.txt").write_bytes(b"")
    result = kg("ingest", str(folder), store=tmp_path / "s", check=2)
    assert "empty.txt:1: expected" in result.stderr
    assert select(tmp_path / "s", "SELECT (COUNT(DISTINCT ?p) AS ?n) { ?p a schema:ScholarlyArticle }") == [{"n": "15"}]


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s"
    kg("ingest", str(SEEDS), store=path)
    first = kg("stats", store=path).stdout
    kg("ingest", str(SEEDS), store=path)
    assert kg("stats", store=path).stdout == first


def test_validate_writes_nothing_and_reports(tmp_path: Path) -> None:
    result = kg("validate", str(SEEDS))
    assert "listed" in result.stderr and "50" in result.stderr
    missing = kg("validate", str(tmp_path / "nope.txt"), check=2)
    assert "nope.txt" in missing.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    result = kg("export", "--format", "rdfxml", store=tmp_path / "s", check=2)
    assert "expected one of turtle, jsonld, nquads, trig" in result.stderr
    env_error = subprocess.run([KG, "stats"], capture_output=True, text=True, timeout=60, check=False,
                               env={**os.environ, "KG_BASE_IRI": "not-an-iri"})
    assert env_error.returncode == 2 and "KG_BASE_IRI" in env_error.stderr and "Traceback" not in env_error.stderr


def test_backup_and_restore_round_trip(store: Path, tmp_path: Path) -> None:
    original = _dump(store, tmp_path, "orig.nq")
    kg("backup", str(tmp_path / "backup"), store=store)
    restored_store = tmp_path / "restored"
    kg("restore", str(tmp_path / "backup"), store=restored_store)
    restored = _dump(restored_store, tmp_path, "restored.nq")
    assert original == restored and len(original) > 5000
