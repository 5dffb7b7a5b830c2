"""The GitHub channel: a sticky pull-request comment and a drift tracking issue.

``reconciler github comment`` and ``reconciler github drift-issue``
(``cli/github.py``) read a report the other commands already wrote (a
``--format json`` report, a saved plan file, a ``validate --format json``
report) and publish it through the GitHub REST API. Nothing here plans or
reads the Agents API: a run computes its plan once, and this package only
words and posts it.

Modules:

- :mod:`~reconciler.github.context` — who we are: token, repository, pull
  request, commit and run link, all from the environment GitHub Actions sets;
- :mod:`~reconciler.github.client` — the only module that speaks HTTP to
  GitHub (retries on 429 and secondary rate limits, Link pagination, the
  token redacted from every message);
- :mod:`~reconciler.github.documents` — reading the report files;
- :mod:`~reconciler.github.render` — the markdown of the comment and the issue;
- :mod:`~reconciler.github.comment` / :mod:`~reconciler.github.drift_issue` — the two workflows.
"""
