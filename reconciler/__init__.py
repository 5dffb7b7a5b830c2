"""rtc-reconciler: config-as-code for PolyAI real-time configuration.

The flow runs one way::

    repository -> loader -> DesiredState -> validation + policies -> planner <- live state <- api client
                                                                       |
                                                                     Plan -> executor -> api client
                                                                       |
                                                                    reports
"""

import sys as _sys

# jsonschema imports rfc3987_syntax (when installed) only to check the rarely used
# "iri" formats, and that import builds a Lark grammar: ~2 s on every CLI start.
# Hide it; reconciler.checks.regexguard.FORMAT_CHECKER checks "iri" lazily instead.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
# Likewise rfc3986_validator (two large regexes compiled at import; "uri" formats load it on first
# use) and the parsers of formats Draft 7 does not have ("duration" is 2019-09, "color" draft 3):
# isoduration pulls in arrow and dateutil. Together ~0.1 s of every start-up.
for _hidden in ("rfc3986_validator", "isoduration", "webcolors"):
    _sys.modules.setdefault(_hidden, None)  # type: ignore[arg-type]

__version__ = "0.1.0"

__all__ = ["__version__"]
