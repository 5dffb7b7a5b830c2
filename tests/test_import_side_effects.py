"""Importing the package changes nothing of the process: signal handlers, GC, logging, ``sys.modules``.

Each check runs in a fresh interpreter, which records the process state, imports
``reconciler`` and every module of it (``__main__`` aside: it runs the CLI) and records
it again. The package used to hide jsonschema's optional format libraries by putting
``None`` into ``sys.modules``, which broke ``import isoduration`` for anyone else in the
process; format checks are now built explicitly (``reconciler/checks/formats.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import gc, importlib, importlib.util, json, logging, pkgutil, signal, sys

def state():
    loggers = {name: (type(lg).__name__, lg.level, lg.propagate, lg.disabled, len(lg.handlers))
               for name, lg in sorted(logging.Logger.manager.loggerDict.items()) if isinstance(lg, logging.Logger)}
    root = logging.getLogger()
    return {
        "signals": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals()
                    if isinstance(s, signal.Signals) and s not in (signal.SIGKILL, signal.SIGSTOP)},
        "gc": [gc.isenabled(), list(gc.get_threshold())],
        "logging": [root.level, [type(h).__name__ for h in root.handlers], logging.getLoggerClass().__name__,
                    logging.root.manager.disable, repr(logging.lastResort)],
        "configured_loggers": {n: v for n, v in loggers.items() if v[1] or v[4] or v[3] or not v[2]},
    }

before = state()
import reconciler
names = [m.name for m in pkgutil.walk_packages(reconciler.__path__, "reconciler.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
after = state()
halted = None
if importlib.util.find_spec("isoduration") is not None:
    try:
        importlib.import_module("isoduration")
    except ImportError as exc:
        halted = str(exc)
print(json.dumps({"before": before, "after": after, "modules": len(names), "halted": halted,
                  "none_in_sys_modules": sorted(k for k, v in sys.modules.items() if v is None)}))
"""


def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_the_package_changes_no_process_state():
    result = _probe()
    assert result["modules"] > 50                      # the whole package was imported
    before, after = result["before"], result["after"]
    assert after["signals"] == before["signals"]
    assert after["gc"] == before["gc"]
    assert after["logging"] == before["logging"]
    assert after["configured_loggers"] == before["configured_loggers"]
    assert result["none_in_sys_modules"] == []         # nothing hidden from other importers
    assert result["halted"] is None                    # isoduration (when installed) imports as usual


def test_the_planner_and_the_yaml_readers_import_no_sqlite():
    code = ("import sys; import reconciler.planning.planner, reconciler.repository.reader, "
            "reconciler.repository.yamlsafe, reconciler.settings; print('sqlite3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"               # only the cache speaks SQLite, and the loader opens it
