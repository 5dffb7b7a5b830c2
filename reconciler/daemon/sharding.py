"""Which agents one replica owns: ``--shard I/N`` by a stable hash of the agent id.

Called by the daemon when it loads the repository. N replicas started with
``--shard 0/N`` … ``--shard N-1/N`` over the same repository split the fleet
with no coordination: every agent falls in exactly one shard (disjoint and
complete), and the split never changes between runs or machines, because the
hash is SHA-256 of the agent id — not Python's per-process salted ``hash()``.
In Kubernetes, I is the StatefulSet pod ordinal.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int
    """I: this replica's shard, 0-based."""
    count: int
    """N: how many replicas share the repository."""

    def owns(self, agent: str) -> bool:
        return self.count == 1 or shard_of(agent, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(agent: str, count: int) -> int:
    """The shard (0..count-1) an agent id falls in; the same on every machine and run."""
    digest = hashlib.sha256(agent.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    """``"I/N"`` with 0 <= I < N -> Shard; ``ValueError`` with a readable message otherwise."""
    match = _SHARD.match(text)
    if not match:
        raise ValueError(f"--shard {text!r} must look like I/N, e.g. 0/3")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text!r}: need N >= 1 and 0 <= I < N")
    return Shard(index, count)
