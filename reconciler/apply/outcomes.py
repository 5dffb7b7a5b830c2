"""The outcome of one agent x environment of an apply: built here, recorded by the executor.

Called by :mod:`reconciler.apply.executor` (and the daemon, through it). Every
failure is a frozen :class:`~reconciler.planning.plan.Outcome` carrying one
finding; what the server said is masked with the sensitive values the page's
writes carried (:func:`sent_secrets`), so no outcome can quote a secret.
"""

from __future__ import annotations

from typing import Any

from reconciler import errors
from reconciler.apply import verify
from reconciler.checks import masking
from reconciler.model import Finding, Severity
from reconciler.planning.plan import EnvPlan, Outcome, OutcomeState, Status


def without_writes(env_plan: EnvPlan, reason: str) -> Outcome:
    if env_plan.status is Status.UNMANAGED:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.UNMANAGED)
    if not env_plan.has_writes and env_plan.status is Status.IN_SYNC:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.IN_SYNC)
    return outcome(env_plan, OutcomeState.BLOCKED, Severity.ERROR, "apply.blocked", reason)


def skipped(env_plan: EnvPlan, reason: str) -> Outcome:
    return outcome(env_plan, OutcomeState.SKIPPED, Severity.WARNING, "apply.skipped", reason)


def failed(env_plan: EnvPlan, exc: errors.ApiError) -> Outcome:
    if isinstance(exc, errors.UnreachableError):
        return outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, "api.unreachable",
                        f"not attempted: {exc.message}")
    # The server's message may quote what was sent: mask the whole of it, then shorten.
    return outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, api_error_code(exc),
                    masking.api_error_text(exc, sent_secrets(env_plan)), request_id=exc.request_id)


def unexpected(env_plan: EnvPlan, method: str, predicted: verify.Prediction, answer: Any) -> Outcome | None:
    """A failed outcome when ``answer`` is not the predicted page (masked difference), else None."""
    detail = verify.difference(predicted, answer, env_plan, sent_secrets(env_plan))
    if detail is None:
        return None
    return outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, verify.UNEXPECTED_RESULT,
                    verify.message(method, detail))


def sent_secrets(env_plan: EnvPlan) -> list[Any]:
    """The sensitive values this environment's writes carry (PATCH body, sensitive schema constants)."""
    patch = env_plan.variables_patch
    if env_plan.masked_patch is not None:
        found = masking.masked_leaves(patch, env_plan.masked_patch)
    else:
        found = [patch[k] for k in env_plan.sensitive_keys if k in patch]
    if env_plan.schema_put is not None:
        found += masking.sensitive_values({}, env_plan.schema_put)
    return found


def outcome(env_plan: EnvPlan, state: OutcomeState, severity: Severity, code: str, message: str,
             request_id: str | None = None) -> Outcome:
    finding = Finding(severity, code, message, agent=env_plan.agent, env=str(env_plan.env), request_id=request_id)
    if severity is Severity.WARNING:
        return Outcome(env_plan.agent, env_plan.env, state, warnings=(finding,))
    return Outcome(env_plan.agent, env_plan.env, state, errors=(finding,))


def api_error_code(exc: errors.ApiError) -> str:
    """Stable finding code of an API failure: ``api.<ERROR_CODE>``, ``api.http_<status>``, ``api.transport``
    or ``api.unreachable`` (the circuit breaker stopped the run: nothing was sent)."""
    if isinstance(exc, errors.UnreachableError):
        return "api.unreachable"
    if exc.error_code:
        return f"api.{exc.error_code}"
    if exc.status is not None:
        return f"api.http_{exc.status}"
    return "api.transport"
