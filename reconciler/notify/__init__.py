"""Notifications: who hears about applies, failures and drift (``notifications`` in reconciler.yaml).

An edge, like ``api/`` and ``github/``: :mod:`reconciler.notify.events` turns a
run's result into events (pure), :mod:`reconciler.notify.dedupe` decides which
to send (once per target, trigger, page and git revision; rate-limited; state
in ``.reconciler/notifications/state.json``, which holds no secret and no value) and
:mod:`reconciler.notify.sender` posts them with httpx (retries with backoff; a
failing target is logged, never fatal).
"""
