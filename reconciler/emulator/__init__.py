"""A local, persistent emulator of the PolyAI Agents API real-time config surface.

Not the real service. ``create_app`` builds the FastAPI app (``app``); it keeps
state in SQLite (``store``), checks Draft 7 (``schemas``), answers errors in the
API's envelope (``envelope``), injects faults (``faults``, ``middleware``) and
offers test hooks under ``/_emulator`` (``hooks``). ``server`` serves it with
uvicorn for ``reconciler emulator`` and for tests.
"""

from reconciler.emulator.app import create_app
from reconciler.emulator.faults import Faults

__all__ = ["Faults", "create_app"]
