"""THE ECMA-262 decision: what a pattern is, and what it matches — for validate AND the emulator.

Every ``pattern``, ``patternProperties`` key and ``format: regex`` value is decided here, by
the same code in ``validate`` (through :mod:`reconciler.checks.regexguard`, the format checker
and the fast path) and in the emulator (:mod:`reconciler.emulator.schemas`), so the two
cannot disagree (issue 20). The dialect: ECMA-262 regular expressions in Unicode mode (the
``u`` flag), no other flag, searched unanchored (JSON Schema semantics).

Validity — :func:`problem`: a pattern is valid when **regress** (a native ECMA-262 engine)
compiles it with the ``u`` flag — so backreferences to a group not yet set match the empty
string, ``\\p{…}`` takes only the property names and values ECMA-262 lists (``\\p{L}``,
``\\p{Script=Greek}``; not ``\\p{Greek}`` nor ``\\p{l}``), group names are any ECMA identifier
(``(?<$>a)``), ``\\u{61}`` works and quantifier bounds may be large (``a{99999999999}``) — and
it uses no ECMAScript 2025 syntax that engines in service today refuse: pattern modifiers
(``(?i:…)``) and a group name used twice (``(?<a>x)|(?<a>y)``).

Matching — :func:`search`, always bounded:

* a pattern with no backreference, look-around or ``\\b`` runs on a linear-time engine
  (jsonschema-rs's Rust ``regex``) in this process, given :func:`linear_text`: the ECMA
  classes spelled out (:func:`reconciler.checks.regexsyntax.translate`) and every
  ``\\p{…}`` replaced by the code points regress itself puts in it (so the Unicode tables are
  regress's too). A regular pattern matches the same strings on any correct engine;
* any other pattern runs on regress in a killable worker process
  (:mod:`reconciler.checks.ecmaworker`) and raises :class:`PatternTimeout` past its deadline.

:func:`looks_catastrophic` probes a pattern on regress (a backtracking engine, what a browser
runs) with long runs of its own characters, in the worker, under a time bound. A lone
surrogate in a text is read as U+FFFD (regress takes Unicode scalar values only).
"""

from __future__ import annotations

import array
# jsonschema-rs imports decimal and email.utils while it starts (PyO3, unwrapping each import): a SIGINT
# or SIGTERM whose Interrupt were raised inside their Python code would make it panic (a Rust backtrace
# on stderr, then our one line) instead of unwinding. Imported before it, they are only looked up there.
import decimal  # noqa: F401
import email.utils  # noqa: F401
import functools
import re
import sys
import time

import jsonschema_rs
import regress

from reconciler.checks import ecmaworker, regexsyntax

#: Wall-time bound of one search on the worker when the caller gives no deadline, seconds.
SEARCH_BUDGET_S = 0.5
#: Time bound of one probe batch (about 45 searches of 41 characters), then of its one retry.
PROBE_BUDGET_S, PROBE_RETRY_S = 0.25, 1.0
#: Most ways to try a pattern at one position (its bounded quantifiers' ranges, its ``|``) that
#: :func:`looks_catastrophic` accepts without a probe: a probe's 41 characters take ~40,000 tries at most.
BOUNDED_WAYS = 1024
_BOUND = re.compile(r"\{(?P<low>\d+)(?:(?P<comma>,)(?P<high>\d*))?\}")
_WORKER = ecmaworker.Worker()
_LINEAR_OPTIONS = jsonschema_rs.RegexOptions()
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_CP = 0x10FFFF


class PatternTimeout(Exception):
    """A search that did not finish within its bound (catastrophic backtracking, most likely)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"pattern {pattern!r} exceeded the matching bound (catastrophic backtracking?); "
                         "simplify it")
        self.pattern = pattern


_NAME_ESCAPE = re.compile(r"\\u\{([0-9A-Fa-f]+)\}|\\u([0-9A-Fa-f]{4})")


def _group_name(pattern: str, i: int) -> str | None:
    """The name of a ``(?<name>`` group opening at ``i`` (escapes decoded), None for other groups."""
    if not pattern.startswith("(?<", i) or pattern.startswith(("(?<=", "(?<!"), i):
        return None
    raw = pattern[i + 3:pattern.find(">", i)]
    units = _NAME_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), raw)
    return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _refused_here(pattern: str) -> str | None:
    """ECMAScript 2025 syntax regress takes and engines in service refuse (Node 20, older browsers)."""
    names: set[str] = set()
    for i, token, in_class in regexsyntax.tokens(pattern):
        if in_class or token != "(":
            continue
        if pattern.startswith("?", i + 1) and i + 2 < len(pattern) and pattern[i + 2] in "ims-":
            return "pattern modifiers '(?flags:…)' are ECMAScript 2025; many engines refuse them"
        name = _group_name(pattern, i)
        if name is not None:
            if name in names:
                return f"the group name {name!r} is used twice"
            names.add(name)
    return None


@functools.lru_cache(maxsize=4096)
def problem(pattern: str) -> str | None:
    """``None`` when ``pattern`` is a valid ECMA-262 (Unicode mode) regex, else why not (one line)."""
    if not isinstance(pattern, str):
        return f"a pattern must be a string, not {type(pattern).__name__}"
    if _SURROGATE.search(pattern):
        return "it contains a lone surrogate code point"
    try:
        regress.Regex(pattern, "u")
    except (regress.RegressError, ValueError) as exc:
        try:
            regexsyntax.translate(pattern)          # a friendlier reason, where it has one
        except regexsyntax.RegexError as ours:
            return str(ours)
        return f"invalid regular expression {pattern!r}: {str(exc) or 'not valid'} " \
               "(patterns are ECMA-262, Unicode mode)"
    refused = _refused_here(pattern)
    return str(regexsyntax.invalid(pattern, refused)) if refused else None


def is_valid(pattern: object) -> bool:
    """The ``format: regex`` check: ``True`` for anything but a string that is not a valid pattern."""
    return not isinstance(pattern, str) or problem(pattern) is None


_NON_REGULAR = frozenset(["\\1", "\\2", "\\3", "\\4", "\\5", "\\6", "\\7", "\\8", "\\9", "\\k", "\\b", "\\B"])


def _regular(pattern: str) -> bool:
    """No backreference, look-around or ``\\b``: the pattern denotes a regular language."""
    for i, token, in_class in regexsyntax.tokens(pattern):
        if in_class:
            continue
        if token in _NON_REGULAR or (token == "(" and pattern.startswith(("?=", "?!", "?<=", "?<!"), i + 1)):
            return False
    return True


def _unnamed(pattern: str) -> str:
    """``(?<name>…)`` as ``(…)`` (no backreference can name it in a regular pattern)."""
    out, skip_to = [], -1
    for i, token, in_class in regexsyntax.tokens(pattern):
        if i < skip_to:
            continue
        if not in_class and token == "(" and _group_name(pattern, i) is not None:
            out.append("(")
            skip_to = pattern.find(">", i) + 1
            continue
        out.append(token)
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def linear_text(pattern: str) -> str | None:
    """``pattern`` for the linear engine, or None when it must run on regress (see the module docstring)."""
    if problem(pattern) is not None or not _regular(pattern):
        return None
    try:
        text = _expand_properties(regexsyntax.translate(_unnamed(pattern)))
    except (regexsyntax.RegexError, ValueError):
        return None
    return text if _linear_validator(text) is not None else None


@functools.lru_cache(maxsize=2048)
def _linear_validator(text: str) -> jsonschema_rs.Draft7Validator | None:
    try:
        return jsonschema_rs.Draft7Validator({"pattern": text}, pattern_options=_LINEAR_OPTIONS)
    except (jsonschema_rs.ValidationError, ValueError):
        return None          # too big, or a form the linear engine does not take: regress runs it


#: Options a compiled jsonschema-rs validator needs to run :func:`linear_text` patterns exactly like :func:`search`.
LINEAR_OPTIONS = _LINEAR_OPTIONS


def _expand_properties(text: str) -> str:
    """Every ``\\p{…}``/``\\P{…}`` of a translated pattern as the code point ranges regress gives it."""
    if "\\p" not in text and "\\P" not in text:
        return text
    out, i = [], 0
    for j, token, in_class in regexsyntax.tokens(text):
        if j < i:
            continue
        if token in ("\\p", "\\P"):
            end = text.index("}", j) + 1
            ranges = _ranges(text[j:end])
            if not ranges:
                raise ValueError("an empty property")
            items = "".join(f"\\u{{{lo:X}}}" if lo == hi else f"\\u{{{lo:X}}}-\\u{{{hi:X}}}" for lo, hi in ranges)
            out.append(items if in_class else f"[{items}]")
            i = end
            continue
        out.append(token)
        i = j + len(token)
    return "".join(out)


@functools.cache
def _all_scalars() -> str:
    """Every Unicode scalar value once, in order (built from UTF-32: ~10 ms instead of ~0.5 s char by char)."""
    codes = array.array("I", range(0xD800))
    codes.extend(range(0xE000, _MAX_CP + 1))
    if sys.byteorder != "little":          # pragma: no cover - big-endian hosts
        codes.byteswap()
    return codes.tobytes().decode("utf-32-le")


def _code_point_at(offset: int) -> int:
    """The code point starting at UTF-8 byte ``offset`` of :func:`_all_scalars` (its length: 0x110000)."""
    two, three_low, three_high = 0x80, 0x80 + 0x780 * 2, 0x80 + 0x780 * 2 + 0xD000 * 3
    four = three_high + 0x2000 * 3
    if offset < two:
        return offset
    if offset < three_low:
        return 0x80 + (offset - two) // 2
    if offset < three_high:
        return 0x800 + (offset - three_low) // 3
    if offset < four:
        return 0xE000 + (offset - three_high) // 3
    return 0x10000 + (offset - four) // 4


@functools.lru_cache(maxsize=128)
def _ranges(escape: str) -> tuple[tuple[int, int], ...]:
    """The scalar values regress puts in ``\\p{X}`` (or ``\\P{X}``), as inclusive ranges (~15-45 ms, cached)."""
    found = regress.Regex(f"[{escape}]+", "u").find_iter(_all_scalars()) or ()
    ranges = []
    for match in found:
        span = match.range()
        ranges.append((_code_point_at(span.start), _code_point_at(span.stop) - 1))
    return tuple(ranges)


def scalar_text(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD (a well-formed pair becomes its character)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


_RESULTS: dict[tuple[str, str], bool] = {}


def search(pattern: str, text: str, *, deadline: float | None = None) -> bool:
    """``True`` when the valid ``pattern`` matches somewhere in ``text``.

    Linear patterns answer in-process; the others on the worker, by ``deadline``
    (``time.monotonic()`` seconds; default :data:`SEARCH_BUDGET_S` from now), else
    :class:`PatternTimeout`.
    """
    text = scalar_text(text)
    linear = linear_text(pattern)
    if linear is not None:
        validator = _linear_validator(linear)
        assert validator is not None
        return bool(validator.is_valid(text))
    key = (pattern, text)
    if key in _RESULTS:
        return _RESULTS[key]
    budget = SEARCH_BUDGET_S if deadline is None else deadline - time.monotonic()
    if budget <= 0:                              # the caller's budget is spent: the worker is spared a kill
        raise PatternTimeout(pattern)
    try:
        [found] = _WORKER.search_many(pattern, [text], budget)
    except ecmaworker.WorkerTimeout:
        raise PatternTimeout(pattern) from None
    if len(_RESULTS) > 4096:
        _RESULTS.clear()
    _RESULTS[key] = found
    return found


def _quantifiers(pattern: str) -> tuple[int, bool, int | None]:
    """(number of quantifiers, whether one applies to a group, and how many ways the pattern can be tried
    at one position — the product of its quantifiers' ranges, times 2 per ``?`` and per ``|`` — or None
    when a quantifier is unbounded: ``*``, ``+``, ``{n,}``), outside classes. A lazy ``?`` is not counted."""
    count, on_group, ways = 0, False, 1
    previous, after_quantifier, skip_to = "", False, 0
    for i, token, in_class in regexsyntax.tokens(pattern):
        if i < skip_to:                          # inside a {n,m} already read
            continue
        if in_class:
            previous, after_quantifier = "", False
            continue
        if token == "?" and after_quantifier:    # lazy: the same quantifier
            after_quantifier = False
            continue
        if token in ("*", "+", "?", "{") and previous not in ("(", "\\p", "\\P", "\\u"):
            count += 1
            on_group = on_group or previous == ")"
            bound = _BOUND.match(pattern, i) if token == "{" else None
            if bound is not None:
                skip_to = bound.end()
            if token == "?":
                ways = None if ways is None else ways * 2
            elif bound is None or (bound["comma"] and not bound["high"]):
                ways = None
            elif ways is not None:
                low = int(bound["low"])
                ways *= max(1, (int(bound["high"]) if bound["comma"] else low) - low + 1)
            previous, after_quantifier = "}" if token == "{" else token, True
            continue
        if token == "|" and ways is not None:
            ways *= 2
        previous, after_quantifier = token, False
    return count, on_group, ways


@functools.lru_cache(maxsize=1024)
def looks_catastrophic(pattern: str) -> bool:
    """Whether the valid ``pattern`` backtracks catastrophically on regress: probed with long runs of its
    own characters plus a non-matching tail, under :data:`PROBE_BUDGET_S` (one retry with
    :data:`PROBE_RETRY_S`, so a busy machine is not mistaken for a runaway pattern). No probe (no
    worker process) for a pattern that cannot be: one with at most one quantifier, on a single atom,
    or one whose quantifiers are all bounded and on single atoms with at most :data:`BOUNDED_WAYS`
    ways to try it at one position (``^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$``: 8), which a
    backtracking engine searches in time linear in the text. A heuristic: ``False`` does not prove
    a pattern safe (searches stay bounded regardless)."""
    count, on_group, ways = _quantifiers(pattern)
    if not on_group and (count <= 1 or (ways is not None and ways <= BOUNDED_WAYS)):
        return False
    chars = [c for c in dict.fromkeys(pattern) if c.isalnum() or c in " -_.@+"][:12] or ["a"]
    texts = [char * 40 + tail for char in chars + ["a", "0", " "] for tail in ("!", "\x00", "a")]
    for budget in (PROBE_BUDGET_S, PROBE_RETRY_S):
        try:
            _WORKER.search_many(pattern, texts, budget)
            return False
        except ecmaworker.WorkerTimeout:
            continue
    return True


def stop_worker() -> None:
    """Stop the worker process now (it restarts on the next search that needs it)."""
    _WORKER.stop()
