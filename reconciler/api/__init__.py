"""The Agents API seam: the only package of the reconciler that speaks HTTP.

- :mod:`.client`    :class:`AgentsApi`, typed calls, retries, breaker, error mapping (one code path)
- :mod:`.wire`      what sends: httpx (its own transport for http(s) URLs, an injected one for `url: local`)
- :mod:`.retry`     retry policy loop and the run-wide rate gate
- :mod:`.envelope`  error envelope / transport failure -> typed :mod:`reconciler.errors`
- :mod:`.transport` what ``url: local`` points at (the embedded emulator)
- :mod:`.live`      :func:`fetch_live`, one GET per agent, concurrently
"""

from reconciler.api.client import AgentsApi
from reconciler.api.live import fetch_live

__all__ = ["AgentsApi", "fetch_live"]
