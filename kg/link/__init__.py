"""Link discovery: match our papers and people to another scholarly graph (over SPARQL or from a dump) and
write scored owl:sameAs / skos:exactMatch links with provenance; re-exports the public names of its modules."""

from kg.link.evaluation import evaluate, read_truth
from kg.link.matching import match_papers, match_people, name_keys, name_score, paper_score
from kg.link.sources import (
    BATCH,
    DUMP_SUFFIXES,
    Select,
    Source,
    dump_source,
    endpoint_source,
    read_ours,
    read_works,
    store_source,
)
from kg.link.targets import OURS, TARGETS, Link, LinkReport, Target, Work
from kg.link.writing import SEMAPV, SSSOM, digest_file, discover, link_store, link_triples, write_links

__all__ = [
    "BATCH", "DUMP_SUFFIXES", "OURS", "SEMAPV", "SSSOM", "TARGETS", "Link", "LinkReport", "Select", "Source",
    "Target", "Work", "digest_file", "discover", "dump_source", "endpoint_source", "evaluate", "link_store",
    "link_triples", "match_papers", "match_people", "name_keys", "name_score", "paper_score", "read_ours",
    "read_truth", "read_works", "store_source", "write_links",
]
