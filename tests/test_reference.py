"""The fast paths against the references on generated data: per-document validation finds what pyshacl finds on
the whole graph, and the compiled rules entail what owlrl entails (the seeds are covered in test_reason.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph

from bench.findings import graph_keys, report_keys
from bench.generate import Options, generate
from kg.config import Settings
from kg.mapping import map_profile
from kg.parse import parse_profile
from kg.prepare import Preparer, prepared_in_order
from kg.reason import AlignmentReasoner
from kg.validate import load_shapes
from kg.vocab import IRIs

ROOT = Path(__file__).resolve().parent.parent
WHEN = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("generated")
    generate(out, Options(24, seed=11))
    return sorted(out.glob("*.txt")) + sorted((ROOT / "seeds").glob("*.txt"))


def _asserted(path: Path) -> Graph:
    return map_profile(parse_profile(path.read_bytes(), str(path)), IRIs(Settings().base_iri), ingested_at=WHEN,
                       file_sha256="0" * 64).asserted


def test_per_document_validation_finds_what_pyshacl_finds_on_the_whole_graph(documents: list[Path]) -> None:
    whole = Graph()
    for path in documents:
        whole += _asserted(path)
    _, report, _ = pyshacl.validate(whole, shacl_graph=load_shapes(), inference="none", advanced=False,
                                    allow_warnings=True, allow_infos=True)
    reference = graph_keys(report)
    per_document = set()
    for outcome, _ in prepared_in_order(Preparer(Settings()), documents, workers=2):
        assert outcome.report is not None, outcome.error
        per_document |= report_keys(outcome.report)
    assert len(reference) > len(documents)  # warnings and infos on every profile: the comparison has substance
    assert {severity for severity, *_ in reference} >= {"Warning", "Info"}
    assert per_document == reference


def test_compiled_rules_entail_what_owlrl_entails_on_generated_documents(documents: list[Path]) -> None:
    rules, owlrl = AlignmentReasoner(mode="rules"), AlignmentReasoner(mode="owlrl")
    for path in documents[:4]:
        asserted = _asserted(path)
        fast = rules.infer_triples(asserted)
        assert fast, path
        assert fast == owlrl.infer_triples(asserted), path
