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
# Hide it; reconciler.regexguard.FORMAT_CHECKER checks "iri" lazily instead.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__version__ = "0.1.0"

__all__ = ["__version__"]
