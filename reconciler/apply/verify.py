"""Write verification: every write's answer is compared with the page the plan predicted.

Called by :mod:`reconciler.apply.executor` after each schema ``PUT`` and
variables ``PATCH`` (the Agents API answers both with the whole ``ConfigPage``).
Why (DESIGN.md §1, "what we cannot verify here"): the planner sends only the
top-level keys that changed, trusting the documented shallow merge. If the real
service replaced the variables instead, or normalised a value on the way in,
one apply would silently wipe or alter every other key of every page it
touches. Like terraform's "Provider produced an unexpected new value", a
difference is an error, ``apply.unexpected_result``, and the executor stops
the run's remaining writes (fail closed).

The prediction, from the live page the plan was made from (``EnvPlan.live_page``):

- after the ``PUT``: the schema sent, the live variables unchanged;
- after the ``PATCH``: the schema sent (or the live one when none was sent), the
  live variables shallow-merged with the patch.

Both sides are compared canonically (:mod:`reconciler.planning.canonical`), so
key order and ``1`` vs ``1.0`` are never a difference. A plan without a live
page (written by hand) checks what it can: the schema sent and the patched keys.

The difference is shown masked (:mod:`reconciler.checks.masking`): a value under
a sensitive node of any schema involved is "(value hidden)", and the whole text
is masked against every sensitive value involved before it is shortened, so no
fragment of one is ever shown. This module decides nothing about what happens
next; the executor and the daemon do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.checks import masking
from reconciler.model import LivePage
from reconciler.planning import canonical, diff
from reconciler.planning.plan import ApplyResult, DiffItem, DiffKind, EnvPlan, OutcomeState

#: Finding code of a write whose answer is not the predicted page.
UNEXPECTED_RESULT = "apply.unexpected_result"
#: Why a page was not written after another write's answer was unexpected.
HALTED = f"not attempted: a write of this run was answered with an unexpected page ({UNEXPECTED_RESULT})"
#: Differences listed in one message; the rest are counted.
MAX_ITEMS = 8
#: Longest text of one value in a message (after masking).
MAX_VALUE_CHARS = 80
#: Longest message (after masking).
MAX_MESSAGE_CHARS = 1200


@dataclass(frozen=True)
class Prediction:
    """The page a write should answer with; None: that part is not known, so not compared."""

    schema: Mapping[str, Any] | None
    variables: Mapping[str, Any] | None
    patched: Mapping[str, Any]
    """Keys the answer must hold with exactly these values (checked when ``variables`` is unknown)."""


def after_put(env_plan: EnvPlan) -> Prediction:
    """The page after the schema PUT: the schema sent, the live variables untouched."""
    live = env_plan.live_page
    return Prediction(schema=env_plan.schema_put, variables=live.variables if live else None, patched={})


def after_patch(env_plan: EnvPlan, *, put_done: bool) -> Prediction:
    """The page after the variables PATCH: the live variables shallow-merged with the patch."""
    live = env_plan.live_page
    schema = env_plan.schema_put if put_done else (live.schema if live else None)
    variables = {**live.variables, **env_plan.variables_patch} if live else None
    return Prediction(schema=schema, variables=variables, patched=env_plan.variables_patch)


def difference(predicted: Prediction, answer: Any, env_plan: EnvPlan, secrets: Sequence[Any] = ()) -> str | None:
    """How ``answer`` differs from ``predicted``, as masked text; None when it is the predicted page.

    ``secrets``: sensitive values the caller knows of (the bodies sent); this module adds those of
    every schema involved, in the prediction and in the answer.
    """
    page = page_of(answer)
    if page is None:
        return "the answer holds no config page (no schema or variables to compare)"
    schemas = _schemas(predicted, page, env_plan)
    items = _schema_items(predicted, page) + _variable_items(predicted, page, schemas)
    if not items:
        return None
    hidden = list(secrets) + _secrets(predicted, page, schemas)
    shown = [_item_text(item, hidden) for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        shown.append(f"… and {len(items) - MAX_ITEMS} more")
    return masking.safe_text("; ".join(shown), hidden, MAX_MESSAGE_CHARS)


def page_of(answer: Any) -> LivePage | None:
    """The answer as a page: the client returns a :class:`LivePage`; a raw ``ConfigPage`` is read too."""
    if isinstance(answer, LivePage):
        return answer
    if isinstance(answer, Mapping) and isinstance(answer.get("clientEnv"), str):
        try:
            return LivePage.from_json(answer)
        except (KeyError, TypeError, ValueError):
            return None
    return None


def _schema_items(predicted: Prediction, page: LivePage) -> list[tuple[str, DiffItem]]:
    if predicted.schema is None or canonical.schema_equal(predicted.schema, page.schema):
        return []
    return [("schema", item) for item in diff.diff_schemas(predicted.schema, page.schema)]


def _variable_items(predicted: Prediction, page: LivePage,
                    schemas: tuple[Mapping[str, Any], ...]) -> list[tuple[str, DiffItem]]:
    if predicted.variables is not None:
        expected, got = predicted.variables, page.variables
    else:
        # Only the patched keys are known: every one must be there with the value sent.
        expected = predicted.patched
        got = {k: page.variables[k] for k in predicted.patched if k in page.variables}
    if canonical.equal(dict(expected), dict(got)):
        return []
    return [("variables", item) for item in diff.diff_documents(expected, got, schema=schemas)]


def _schemas(predicted: Prediction, page: LivePage, env_plan: EnvPlan) -> tuple[Mapping[str, Any], ...]:
    """Every schema that may mark a value sensitive: a value sensitive under any of them is hidden."""
    live = env_plan.live_page
    candidates = (predicted.schema, env_plan.schema_put, live.schema if live else None, page.schema)
    return tuple(s for s in candidates if isinstance(s, Mapping))


def _secrets(predicted: Prediction, page: LivePage, schemas: tuple[Mapping[str, Any], ...]) -> list[Any]:
    found: list[Any] = []
    for schema in schemas:
        for values in (predicted.variables, predicted.patched, page.variables):
            if isinstance(values, Mapping):
                found += masking.sensitive_values(values, schema)
    return found


def _item_text(entry: tuple[str, DiffItem], secrets: Sequence[Any]) -> str:
    document, item = entry
    where = f"{document}.{item.path}" if item.path else document
    if item.sensitive:
        what = {DiffKind.REMOVED: "missing from the answer", DiffKind.ADDED: "not planned, in the answer",
                DiffKind.CHANGED: "changed"}[item.kind]
        return f"{where}: {what} (value hidden)"
    if item.kind is DiffKind.REMOVED:
        return f"{where}: missing from the answer (planned {_value(item.live, secrets)})"
    if item.kind is DiffKind.ADDED:
        return f"{where}: not planned, the answer has {_value(item.desired, secrets)}"
    return f"{where}: planned {_value(item.live, secrets)}, the answer has {_value(item.desired, secrets)}"


def _value(value: Any, secrets: Sequence[Any]) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return masking.safe_text(text, secrets, MAX_VALUE_CHARS)     # masked whole, then shortened


def message(method: str, detail: str) -> str:
    """The finding's message: which write, what differs, and that the run's writes stopped."""
    return (f"the {method} answer differs from the page the plan predicted ({detail}); the API may not "
            "merge variables or may rewrite values, so no further write was started")


def halted_summary(result: ApplyResult) -> str | None:
    """One line for the end of a run stopped by an unexpected answer: what was and was not written."""
    where = [f"{o.agent}/{o.env}" for o in result.outcomes if any(e.code == UNEXPECTED_RESULT for e in o.errors)]
    if not where:
        return None
    applied = [f"{o.agent}/{o.env}" for o in result.outcomes if o.state is OutcomeState.APPLIED]
    skipped = sum(1 for o in result.outcomes if o.state is OutcomeState.SKIPPED)
    shown = ", ".join(applied[:10]) + (", …" if len(applied) > 10 else "")
    return (f"error: {UNEXPECTED_RESULT} on {', '.join(where)}: the write was sent but its answer differs from the "
            f"plan; writes stopped. Written as planned: {len(applied)} page(s){f' ({shown})' if applied else ''}; "
            f"written with an unexpected result: {len(where)}; not attempted: {skipped} page(s)")
