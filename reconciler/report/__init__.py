"""Reports: what the planner, the executor and validation decided, in words and layout.

- :mod:`~reconciler.report.formats` renders one Plan (or ApplyResult) four
  ways — ``text``, ``json``, ``markdown``, ``github`` — with one module each;
  :mod:`~reconciler.report.common` holds what they share;
- :mod:`~reconciler.report.findings` renders validation findings (``validate``,
  and the error lines of the other reports); it needs nothing else here, so
  ``validate`` loads neither the plan model nor rich;
- :mod:`~reconciler.report.reader` reads a JSON report back (``show``,
  ``github comment``).

A report computes nothing: it chooses words and layout, and only ever shows
masked values. Writing the result to stdout or ``--out`` is the CLI's job.
"""
