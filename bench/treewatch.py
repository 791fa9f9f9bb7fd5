"""Peak RSS and CPU of a process and all its descendants, sampled from /proc (worker processes of a forkserver
are not children of the measured process, so getrusage(RUSAGE_CHILDREN) does not see them)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


class TreeWatch:
    """Samples every `interval` seconds: the sum of RSS over the process tree (its maximum is the peak), and each
    descendant's CPU seconds as last seen (so CPU used in the last interval of a process's life is missed)."""

    def __init__(self, root: int | None = None, interval: float = 0.2) -> None:
        self.root = root or os.getpid()
        self.interval = interval
        self.peak_tree_rss_bytes = 0
        self.peak_root_rss_bytes = 0
        self._descendant_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-watch", daemon=True)

    def __enter__(self) -> TreeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def descendant_cpu_seconds(self) -> float:
        return sum(self._descendant_cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        stats = _all_stats()
        tree = _tree(self.root, stats)
        total = 0
        for pid in tree:
            _, rss_pages, cpu = stats[pid]
            total += rss_pages * _PAGE
            if pid == self.root:
                self.peak_root_rss_bytes = max(self.peak_root_rss_bytes, rss_pages * _PAGE)
            else:
                self._descendant_cpu[pid] = cpu
        self.peak_tree_rss_bytes = max(self.peak_tree_rss_bytes, total)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds so far of `root` and every descendant, those that ended included (a reaped process's CPU is
    in its parent's cutime and cstime)."""
    stats = _all_stats(with_reaped_children=True)
    return sum(stats[pid][2] for pid in _tree(root, stats))


def _all_stats(*, with_reaped_children: bool = False) -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, resident pages, CPU seconds) for every process readable now."""
    stats: dict[int, tuple[int, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
        ticks = sum(int(f) for f in fields[11:15 if with_reaped_children else 13])  # utime stime [cutime cstime]
        stats[int(entry.name)] = (int(fields[1]), int(fields[21]), ticks / _TICKS)
    return stats


def _tree(root: int, stats: dict[int, tuple[int, int, float]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    return tree
