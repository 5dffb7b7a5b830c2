"""The status page for people (``GET /``): server-rendered HTML from the ``/status`` document.

No script, no external asset (inline CSS only), and a ``<meta refresh>`` so it
follows the fleet by itself. Every text is HTML-escaped; values come from
``/status``, which is already masked.
"""

from __future__ import annotations

import html
from typing import Any

REFRESH_SECONDS = 5
_COLOURS = {"in_sync": "#1a7f37", "applying": "#0969da", "drift": "#9a6700", "error": "#cf222e",
            "unmanaged": "#6e7781"}
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}
h1{font-size:1.3rem;margin:0 0 .3rem}
.meta{color:#59636e;margin-bottom:1rem}
.summary span{display:inline-block;margin-right:1rem;font-weight:600}
table{border-collapse:collapse;margin-top:1rem;width:100%}
th,td{border-bottom:1px solid #d1d9e0;padding:.35rem .6rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f6f8fa}
.status{color:#fff;border-radius:.8rem;padding:.1rem .55rem;font-size:.8rem;white-space:nowrap}
code{font-size:.85rem}
.nowrap{white-space:nowrap}
.banner{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .8rem;margin:.5rem 0;border-radius:.3rem}
.dirty{color:#cf222e}
.hold{color:#9a6700;font-size:.8rem;margin-top:.2rem;max-width:14rem}
.history{font-size:.8rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _badge(status: str) -> str:
    colour = _COLOURS.get(status, "#6e7781")
    return f'<span class="status status-{_e(status)}" style="background:{colour}">{_e(status)}</span>'


def _error(err: dict[str, Any] | None) -> str:
    if not err:
        return ""
    where = f"{err.get('file')}:{err.get('line')}: " if err.get("file") else ""
    return f"<code>{_e(err.get('code'))}</code> {_e(where)}{_e(err.get('message'))}"


def _findings(r: dict[str, Any]) -> str:
    """Every error of the page, located (falls back to ``last_error`` for documents without findings)."""
    errors = [f for f in r.get("findings", ()) if f.get("severity") == "error"]
    if not errors:
        return _error(r["last_error"])
    lines = []
    for f in errors:
        at = f" (at {f['path']})" if f.get("path") else ""
        lines.append(_error(f) + _e(at))
    return "<br>".join(lines)


def _revision(rev: dict[str, Any] | None, *, subject: bool = False) -> str:
    if not rev:
        return "—"
    text = f"<code>{_e(rev['id'][:12])}</code>" + (f" {_e(rev.get('subject'))}" if subject else "")
    return text + (' <strong class="dirty">+ uncommitted changes</strong>' if rev.get("dirty") else "")


def _banner(doc: dict[str, Any]) -> str:
    """Held revision and uncommitted changes: said loudly, above the table."""
    out = []
    held = doc.get("held")
    if held:
        out.append(f'<div class="banner" id="held">revision {_revision(held["revision"], subject=True)} is '
                   f'<strong>held</strong>: it would change {held["pages"]} pages; {_e(held["reason"])}. '
                   f'Approve with <code>{_e(held["approve"])}</code>.</div>')
    source = doc.get("source") or {}
    if source.get("uncommitted"):
        out.append('<div class="banner" id="uncommitted">applying <strong>uncommitted changes</strong> of the '
                   "folder (not a commit)</div>")
    if source.get("last_error"):
        out.append(f'<div class="banner" id="fetch-error">fetch failing: {_e(source["last_error"])}</div>')
    return "\n".join(out)


def _source(doc: dict[str, Any]) -> str:
    source = doc.get("source") or {}
    where = f"{_e(source.get('url'))} ({_e(source.get('branch'))}) · " if source.get("kind") == "git" else ""
    return f"{where}applying {_revision(doc.get('applied_revision'), subject=True)}"


#: History entries shown per page (newest first); ``/status`` has all that are kept.
HISTORY_SHOWN = 3


def _hold(r: dict[str, Any]) -> str:
    """Under the status badge: why a window or ``suspend`` holds the writes, and until when."""
    hold = r.get("window_hold")
    if not hold:
        return ""
    text = "suspended: nothing is written" if hold["kind"] == "suspend" else \
        f"held by window until {hold.get('until') or 'further notice'}"
    return f'<div class="hold" title="{_e(hold.get("message"))}">{_e(text)}</div>'


def _history(r: dict[str, Any]) -> str:
    """The page's last applies, newest first: time, outcome, revision, keys (names only)."""
    lines = []
    for entry in reversed(r.get("history") or ()):
        keys = ", ".join(entry.get("changed_keys") or ()) or "—"
        schema = "schema, " if entry.get("schema_put") else ""
        rev = f" <code>{_e((entry.get('revision') or '')[:12])}</code>" if entry.get("revision") else ""
        why = f" ({_e(entry['correlation_id'])})" if entry.get("correlation_id") else ""
        lines.append(f'<span class="nowrap">{_e(entry.get("time"))}</span> {_e(entry.get("outcome"))}{rev}: '
                     f"{_e(schema)}{_e(keys)}{why}")
    shown = lines[:HISTORY_SHOWN]
    more = f"<br>… {len(lines) - len(shown)} more in /status" if len(lines) > len(shown) else ""
    return "<br>".join(shown) + more


def _row(r: dict[str, Any]) -> str:
    mode = r["sync"] + (", selfHeal" if r["self_heal"] else "")
    drift = "; ".join(f"{doc}: " + ", ".join(d.get("path") or "(whole document)" for d in r["drift"]
                                            if d.get("document") == doc)
                      for doc in ("schema", "variables") if any(d.get("document") == doc for d in r["drift"]))
    return (f'<tr data-agent="{_e(r["agent"])}" data-env="{_e(r["env"])}" data-status="{_e(r["status"])}">'
            f'<td class="nowrap">{_e(r["agent"])}</td><td>{_e(r["env"])}</td><td>{_badge(r["status"])}{_hold(r)}</td>'
            f"<td>{_e(mode)}</td><td class=\"nowrap\">{_e(r['last_applied'] or '—')}</td><td>{_e(drift)}</td>"
            f"<td>{_e(', '.join(r['contested']))}</td><td>{_revision(r.get('revision'))}</td>"
            f"<td class=\"history\">{_history(r)}</td><td>{_findings(r)}</td></tr>")


def _held(held: dict[str, Any] | None) -> str:
    """A red banner while the daemon's writes are held (``writes_held`` in ``/status``)."""
    if not held:
        return ""
    return (f'<div id="writes-held" style="background:{_COLOURS["error"]};color:#fff;padding:.5rem .8rem;'
            f'border-radius:.4rem;margin-bottom:1rem"><strong>writes held</strong> since {_e(held.get("since"))}: '
            f'<code>{_e(held.get("code"))}</code> on {_e(held.get("agent"))}/{_e(held.get("env"))} — '
            f'{_e(held.get("message"))} Writes resume after the next repository change or a restart.</div>')


def render(doc: dict[str, Any]) -> str:
    summary = "".join(f'<span style="color:{_COLOURS.get(k, "#000")}">{_e(k)}: {v}</span>'
                      for k, v in doc["summary"].items())
    state = "ready" if doc["ready"] else "first full sync in progress"
    rows = "\n".join(_row(r) for r in doc["results"]) or '<tr><td colspan="10">no pages yet</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>reconciler watch: {_e(state)}</title><style>{_CSS}</style></head>
<body>
<h1>reconciler watch</h1>
<div class="meta">shard {_e(doc['shard'])} · revision <code>{_e(doc['revision'] or 'not a git checkout')}</code>
 · last full sync {_e(doc['last_full_sync'] or 'not yet')} · <span id="state">{_e(state)}</span></div>
<div class="meta" id="source">{_source(doc)}</div>
{_banner(doc)}
{_held(doc.get("writes_held"))}<div class="summary" id="summary">{summary}</div>
<table id="pages"><thead><tr><th>agent</th><th>environment</th><th>status</th><th>sync</th><th>last applied</th>
<th>drift</th><th>contested keys</th><th>revision</th><th>history</th><th>errors</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
