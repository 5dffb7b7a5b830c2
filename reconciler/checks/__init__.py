"""Checking the desired state offline: no HTTP, no writes; files are read only through :mod:`reconciler.repository`.

:mod:`~reconciler.checks.validation` drives a repository's checks: schema problems
(:mod:`~reconciler.checks.schemacheck`, with :mod:`~reconciler.checks.schemarefs`), values
(:mod:`~reconciler.checks.valuecheck`, fast path :mod:`~reconciler.checks.fastcheck`), the
regex dialect (:mod:`~reconciler.checks.regexguard`, :mod:`~reconciler.checks.regexsyntax`; the one
ECMA-262 decision, shared with the emulator, is :mod:`~reconciler.checks.ecma`),
``format`` checks (:mod:`~reconciler.checks.formats`) and the policies
(:mod:`reconciler.checks.policy`). :mod:`~reconciler.checks.masking` hides sensitive values,
:mod:`~reconciler.checks.isolation` turns a crash in one environment into a finding there, and
:mod:`~reconciler.checks.verdict` decides what an error blocks. :mod:`~reconciler.checks.schemas`
prints the JSON Schemas of the files users write. Reading the repository is left to
:mod:`reconciler.repository`, planning to :mod:`reconciler.planning`.
"""
