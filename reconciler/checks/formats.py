"""The ``format`` checks of every Draft 7 validator the reconciler runs, built explicitly.

Called by :mod:`reconciler.checks.regexguard` (the full validator), the schema checks
(the meta-schema) and :mod:`reconciler.checks.fastcheck` (the compiled validator calls the
same checks), each time through :func:`format_checker`, built on its first call and
never at import.

Which check decides each format:

- ``regex``: the one ECMA-262 decision (:func:`reconciler.checks.ecma.is_valid`), not Python's ``re``;
- ``date``, ``email``, ``idn-email``, ``ipv4``, ``ipv6``: jsonschema's own;
  ``date-time``/``time`` (rfc3339-validator), ``hostname`` (fqdn), ``idn-hostname``
  (idna), ``json-pointer``/``relative-json-pointer`` (jsonpointer) and ``uri-template``
  (uri-template): jsonschema's checks over those libraries, declared as our own
  dependencies (jsonschema is installed without its format extras).
- ``uri``, ``uri-reference``, ``iri``, ``iri-reference``: jsonschema-rs's compiled checks.
  jsonschema would take them from rfc3986-validator and rfc3987-syntax, and it imports
  whichever is installed when it is itself imported (rfc3987-syntax builds a grammar for
  seconds there); jsonschema-rs is loaded anyway and agreed with rfc3986-validator on
  20,000 generated URIs (with rfc3987-syntax too, except IPv6 hosts, which RFC 3987 allows).

Formats Draft 7 does not define (``duration``, ``uuid``, ``color``) and unknown ones pass,
as in jsonschema. What a finding says about a failed format is validation's business.
"""

from __future__ import annotations

import decimal  # noqa: F401 - before jsonschema_rs: see reconciler/checks/ecma.py
import email.utils  # noqa: F401 - the same
import functools

import jsonschema
import jsonschema_rs

from reconciler.checks import ecma

#: The Draft 7 formats whose check comes from jsonschema (over the libraries named above).
JSONSCHEMA_FORMATS = ("date", "date-time", "email", "hostname", "idn-email", "idn-hostname", "ipv4", "ipv6",
                      "json-pointer", "relative-json-pointer", "time", "uri-template")
#: The Draft 7 formats checked by jsonschema-rs.
COMPILED_FORMATS = ("uri", "uri-reference", "iri", "iri-reference")


@functools.cache
def format_checker() -> jsonschema.FormatChecker:
    """The one checker of Draft 7 formats (see the module docstring); a checker is never changed once built."""
    draft7 = jsonschema.Draft7Validator.FORMAT_CHECKER.checkers
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = {name: draft7[name] for name in JSONSCHEMA_FORMATS if name in draft7}
    for name in COMPILED_FORMATS:
        checker.checks(name)(_compiled_check(name))
    checker.checks("regex")(ecma.is_valid)
    return checker


def _compiled_check(name: str):  # noqa: ANN202 - a format check: object -> bool
    validator = jsonschema_rs.Draft7Validator({"format": name}, validate_formats=True)

    def check(instance: object) -> bool:
        return not isinstance(instance, str) or validator.is_valid(instance)
    return check
