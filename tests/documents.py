"""Profile documents made from the seeds for tests that need many distinct ones (crash safety, bulk ingest)."""

from __future__ import annotations

import re
from pathlib import Path

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
ENTRY = re.compile(r"^[A-Z][A-Z-]*?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}(?:Code)?$",
                   re.MULTILINE)


def make_documents(folder: Path, count: int) -> list[Path]:
    """`count` distinct profiles made from the seeds: each keeps 1 to 4 entries and has its own owner name (in
    the header and in every byline) and file name, so each is its own document with its own three graphs."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        text = SEEDS[index % len(SEEDS)].read_text(encoding="utf-8")
        owner = text.split("\n", 1)[0].strip()
        starts = [match.start() for match in ENTRY.finditer(text)]
        keep = 1 + index % 4
        if keep < len(starts):
            text = text[:starts[keep]]
        tag = "".join("abcdefghijklmnopqrstuvwxyz"[index // 26 ** k % 26] for k in range(3))
        path = folder / f"{index:03d}_crash{tag}.txt"
        path.write_text(text.replace(owner, f"Crash {tag.capitalize()} Tester"), encoding="utf-8")
        paths.append(path)
    return paths
