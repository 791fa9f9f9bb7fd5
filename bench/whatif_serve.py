"""A what-if, not a fix: `kg serve` with the rdflib parse of kg.query.inspect_query skipped for texts in which no
word could reach out, to measure how much of kg's gap to Oxigraph that parse is. Benchmarks only.

`python -m bench.whatif_serve serve --store DIR …` (the arguments of `kg`). A text naming SERVICE, FROM, LOAD,
BASE, file:, an update keyword or an escape still goes through the real check, so the policy is unchanged for
the benchmark's queries; the form and prefixes come from a regular expression.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import kg.query.check
from kg.query.check import QueryInfo

_REAL = kg.query.check.inspect_query
_NEEDS_PARSE = re.compile(r"service|from|load|base|file:|insert|delete|clear|drop|create|add|move|copy|with|\\u",
                          re.IGNORECASE)
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_PREFIX = re.compile(r"PREFIX\s+([\w.-]*):\s*<([^>]*)>", re.IGNORECASE)


def quick_inspect(text: str) -> QueryInfo:
    form = _FORM.search(text)
    if _NEEDS_PARSE.search(text) or form is None:
        return _REAL(text)
    return QueryInfo(form.group(1).upper(), text, prefixes=tuple(_PREFIX.findall(text)))


def patch() -> None:
    """Replace every module-level reference to inspect_query in kg.* (they import it by name)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("kg") and getattr(module, "inspect_query", None) is _REAL:
            module.inspect_query = quick_inspect


def main(argv: list[str]) -> Any:
    import kg.cli
    import kg.server.app
    import kg.server.cache
    import kg.server.sparql

    patch()
    sys.argv = ["kg", *argv]
    return kg.cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
