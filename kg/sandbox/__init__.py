"""Killable query execution: queries run in worker processes over replicas of the store (QueryPool), writes reach
the replicas through a log (pool.store), and ClientLimiter caps concurrent queries per client.

Each worker is a fresh interpreter, never a fork of the threaded server. See docs/security.md.
"""

from kg.sandbox.limits import ClientLimiter
from kg.sandbox.pool import QueryPool, WorkerFailure
from kg.sandbox.replicated import ReplicatedStore

__all__ = ["ClientLimiter", "QueryPool", "ReplicatedStore", "WorkerFailure"]
