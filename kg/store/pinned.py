"""An iterator run on one thread of its own: pyoxigraph's store iterators abort the process (a pyo3 panic) when
advanced from a thread other than the one that made them, and a web server's thread pool moves from thread to thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["pinned"]

T = TypeVar("T")
_END = object()


def pinned(make: Callable[[], Iterator[T]], depth: int = 4) -> Iterator[T]:
    """The items of `make()`, which is called and iterated on one dedicated thread whichever threads consume them;
    at most `depth` items wait in between. Closing the iterator early stops the thread at its next item."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(make, handoff, stop), daemon=True, name="pinned-iterator")
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _produce(make: Callable[[], Iterator[T]], handoff: queue.Queue[object], stop: threading.Event) -> None:
    try:
        for item in make():
            if not _put(handoff, item, stop):
                return
        _put(handoff, _END, stop)
    except BaseException as error:  # handed to the consumer, raised in its thread
        _put(handoff, _Raised(error), stop)


def _put(handoff: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            handoff.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False
