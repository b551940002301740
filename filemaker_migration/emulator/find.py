"""Find requests and sorting over in-memory records, the FileMaker way.

Requests are processed in order: a normal request adds its matches to the
found set, an ``"omit": "true"`` request removes its matches (a first omit
request starts from all records, as in FileMaker Pro). Criteria within one
request are ANDed. Supported operators: ``=`` alone (empty field), ``*`` alone
(any value), ``==x`` (whole field, wildcards allowed), ``=x`` (whole words),
``<``, ``<=``, ``>``, ``>=``, ``a...b`` / ``a..b`` ranges, ``//`` (today),
``*``/``@``/``#`` wildcards, ``"phrase"``, and plain text, which matches
case-insensitively at word starts. Number, date, time and timestamp fields
compare typed values; a date criterion on a timestamp field covers that day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any
from typing import TypeVar

from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.emulator import values
from filemaker_migration.emulator.errors import FieldMissing
from filemaker_migration.emulator.errors import FindCriteriaEmpty
from filemaker_migration.emulator.errors import ParameterInvalid

Row = TypeVar("Row")
Predicate = Callable[[Any], bool]
ValueOf = Callable[[Any, str], Any]

_TYPED = ("number", "date", "time", "timeStamp")
_WORD = re.compile(r"\w+")
_YEAR = re.compile(r"^\d{4}$")


def _never(_value: Any) -> bool:
    return False


def _words(value: Any) -> list[str]:
    return _WORD.findall(str(value).casefold())


def _bounds(result: str, text: str) -> tuple[Any, Any] | None:
    """The inclusive typed interval a criterion denotes (a day for timestamps)."""
    text = text.strip()
    if result == "timeStamp":
        if (moment := values.parse_timestamp(text)) is not None and " " in text:
            return moment, moment
        if (day := values.parse_date(text)) is not None:
            return datetime.combine(day, time.min), datetime.combine(day, time.max)
        return None
    if result == "date" and _YEAR.match(text):
        year = int(text)
        return date(year, 1, 1), date(year, 12, 31)
    key = values.comparable(result, text)
    return None if key is None else (key, key)


def _typed(result: str, test: Callable[[Any], bool]) -> Predicate:
    def predicate(value: Any) -> bool:
        key = values.comparable(result, value)
        return key is not None and test(key)

    return predicate


def _pattern(text: str) -> str:
    """Translate FileMaker wildcards (* any run, @ one char, # one digit)."""
    out = []
    for char in text:
        out.append({"*": ".*", "@": ".", "#": r"\d"}.get(char, re.escape(char)))
    return "".join(out)


def _equal(result: str, text: str) -> Predicate:
    if result in _TYPED:
        bounds = _bounds(result, text)
        if bounds is None:
            return _never
        low, high = bounds
        return _typed(result, lambda key: low <= key <= high)
    regex = re.compile(_pattern(text.strip()), re.IGNORECASE | re.DOTALL)
    return lambda value: value != "" and regex.fullmatch(str(value)) is not None


def _compare(result: str, op: str, text: str) -> Predicate:
    if result in _TYPED:
        bounds = _bounds(result, text)
        if bounds is None:
            return _never
        low, high = bounds
    else:
        low = high = text.strip().casefold()
    tests: dict[str, Callable[[Any], bool]] = {
        "<": lambda key: key < low,
        "<=": lambda key: key <= high,
        ">": lambda key: key > high,
        ">=": lambda key: key >= low,
    }
    return _typed(result, tests[op])


def _range(result: str, first: str, last: str) -> Predicate:
    if result in _TYPED:
        lower, upper = _bounds(result, first), _bounds(result, last)
        if lower is None or upper is None:
            return _never
        low, high = lower[0], upper[1]
    else:
        low, high = first.strip().casefold(), last.strip().casefold()
    return _typed(result, lambda key: low <= key <= high)


def _wildcard(text: str) -> Predicate:
    regex = re.compile(r"(?:^|(?<=\W))" + _pattern(text), re.IGNORECASE)
    return lambda value: value != "" and regex.search(str(value)) is not None


def _words_match(text: str, whole: bool) -> Predicate:
    wanted = _words(text)
    if not wanted:
        needle = text.casefold()
        return lambda value: value != "" and needle in str(value).casefold()

    def predicate(value: Any) -> bool:
        have = _words(value)
        if whole:
            return all(w in have for w in wanted)
        return all(any(h.startswith(w) for h in have) for w in wanted)

    return predicate


def compile_criterion(result: str, raw: Any) -> Predicate | None:
    """A predicate over stored values, or None for an empty criterion."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    text = text.strip()
    if not text:
        return None
    if text == "=":
        return lambda value: value == ""
    if text == "*":
        return lambda value: value != ""
    if text == "//" and result in ("date", "timeStamp"):
        return _equal(result, values.format_date(date.today()))
    if text.startswith("=="):
        return _equal(result, text[2:])
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            return _compare(result, op, text[len(op) :])
    for separator in ("...", ".."):
        if separator in text:
            first, _, last = text.partition(separator)
            return _range(result, first, last)
    if text.startswith("="):
        text = text[1:]
        return _equal(result, text) if result in _TYPED else _words_match(text, True)
    if result in _TYPED:
        return _equal(result, text)
    if len(text) > 1 and text[0] == text[-1] == '"':
        return _wildcard(text[1:-1])
    if any(char in text for char in "*@#"):
        return _wildcard(text)
    return _words_match(text, False)


def run_find(
    layout: LayoutSpec, rows: Sequence[Row], query: Any, value_of: ValueOf
) -> list[Row]:
    """The found set, in record order (sort it afterwards).

    Raises:
        FindCriteriaEmpty: no request carries a criterion.
        FieldMissing: a criterion names a field that is not on the layout.
    """
    if not isinstance(query, list) or not query:
        raise FindCriteriaEmpty()
    requests: list[tuple[bool, list[tuple[str, Predicate]]]] = []
    for request in query:
        if not isinstance(request, dict):
            raise ParameterInvalid()
        omit = str(request.get("omit", "false")).strip().lower() == "true"
        predicates = []
        for name, raw in request.items():
            if name == "omit":
                continue
            spec = layout.field(name)
            if spec is None:
                raise FieldMissing()
            if (predicate := compile_criterion(spec.result, raw)) is not None:
                predicates.append((name, predicate))
        requests.append((omit, predicates))
    if not any(predicates for _, predicates in requests):
        raise FindCriteriaEmpty()
    found = [requests[0][0]] * len(rows)
    for omit, predicates in requests:
        if not predicates:
            continue
        for index, row in enumerate(rows):
            if found[index] == omit and all(
                predicate(value_of(row, name)) for name, predicate in predicates
            ):
                found[index] = not omit
    return [row for row, keep in zip(rows, found, strict=True) if keep]


def parse_sort(layout: LayoutSpec, sort: Any) -> list[tuple[str, bool]]:
    """Read ``[{"fieldName": ..., "sortOrder": "ascend"|"descend"}]``.

    GET passes it as a JSON string, find as a JSON array. Any other
    sortOrder (a value list name) sorts ascending.
    """
    if sort in (None, "", []):
        return []
    if isinstance(sort, str):
        try:
            sort = json.loads(sort)
        except json.JSONDecodeError as exc:
            raise ParameterInvalid() from exc
    if isinstance(sort, dict):
        sort = [sort]
    if not isinstance(sort, list):
        raise ParameterInvalid()
    keys = []
    for entry in sort:
        if not isinstance(entry, dict) or "fieldName" not in entry:
            raise ParameterInvalid()
        name = str(entry["fieldName"])
        if layout.field(name) is None:
            raise FieldMissing()
        keys.append((name, str(entry.get("sortOrder", "ascend")) == "descend"))
    return keys


def sort_rows(
    layout: LayoutSpec,
    rows: list[Row],
    keys: list[tuple[str, bool]],
    value_of: ValueOf,
) -> list[Row]:
    """Stable multi-key sort; empty values sort first (last when descending)."""
    for name, descending in reversed(keys):
        # parse_sort checked every name against the layout: the field exists.
        result = layout.field(name).result  # type: ignore[union-attr]

        def key(row: Any, name: str = name, result: str = result) -> tuple[Any, ...]:
            typed = values.comparable(result, value_of(row, name))
            return (0,) if typed is None else (1, typed)

        rows.sort(key=key, reverse=descending)
    return rows
