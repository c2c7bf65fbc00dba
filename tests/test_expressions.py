"""The expression language: parsed and type-checked at check time, evaluated by closures, never eval."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile.expressions import Compiled, Environment, ExprError, Type, compile_expression

ENV = Environment(
    {
        "n": Type("number", label="n"),
        "m": Type("number", label="m"),
        "reason": Type("text", options=frozenset({"lost", "damaged"}), label="reason"),
        "born": Type("date", label="born"),
        "slot": Type("date", label="slot"),  # a datetime field: same type, datetime values
        "agree": Type("bool", label="agree"),
        "kids": Type("list", Type("object", parts={"age": Type("number", label="age")}), label="kids"),
    },
    today=lambda: dt.date(2026, 6, 15),
)


def ok(text: str) -> Compiled:
    result = compile_expression(text, ENV)
    assert isinstance(result, Compiled), result
    return result


def error(text: str) -> ExprError:
    result = compile_expression(text, ENV)
    assert isinstance(result, ExprError), f"{text!r} compiled"
    return result


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("reason == 'damaged'", {"reason": "damaged"}, True),
        ("reason == 'damaged'", {}, None),
        ("n > 3 and m < 2", {"n": 5, "m": 1}, True),
        ("n > 3 and m < 2", {"n": 1}, False),  # false and unknown is false
        ("n > 3 or m < 2", {"n": 5}, True),  # true or unknown is true
        ("not agree", {"agree": False}, True),
        ("reason in ['lost', 'damaged']", {"reason": "lost"}, True),
        ("reason not in ['lost']", {"reason": "lost"}, False),
        ("age(born) >= 18", {"born": dt.date(2008, 6, 15)}, True),
        ("age(born) >= 18", {"born": dt.date(2008, 6, 16)}, False),
        ("born < '2000-01-01'", {"born": dt.date(1999, 12, 31)}, True),
        ("count(kids) == 2", {"kids": [{"age": 3}, {"age": 5}]}, True),
        ("sum(kids.age)", {"kids": [{"age": 3}, {"age": 5}]}, 8),
        ("count(kids)", {}, 0),
        ("2000 * (n - 1) if n > 1 else 0", {"n": 3}, 4000),
        ("n / m", {"n": 1, "m": 0}, None),  # division by zero is unknown, not a crash
        ("empty(reason)", {}, True),
        ("max(n, m, 10)", {"n": 3, "m": 12}, 12),
        # a datetime answer meets a date answer on its day, in comparisons and date functions
        ("born >= slot", {"born": dt.date(2026, 7, 1), "slot": dt.datetime(2026, 7, 1, 10, 30)}, True),
        ("slot > born", {"born": dt.date(2026, 7, 1), "slot": dt.datetime(2026, 7, 1, 10, 30)}, False),
        ("slot < today()", {"slot": dt.datetime(2026, 6, 14, 23, 0)}, True),
        ("days_between(born, slot)", {"born": dt.date(2026, 7, 1), "slot": dt.datetime(2026, 7, 3, 9, 0)}, 2),
    ],
)
def test_evaluation(text: str, answers: dict[str, object], expected: object) -> None:
    assert ok(text)(answers) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("reason == 'damged'", "EXPR005"),  # not one of the options
        ("reasn == 'lost'", "EXPR002"),  # unknown field
        ("n + reason", "EXPR003"),  # number plus text
        ("n > 'x'", "EXPR003"),
        ("agree < agree", "EXPR003"),
        ("open('x')", "EXPR004"),
        ("__import__('os').system('x')", "EXPR004"),
        ("n ** 2", "EXPR001"),
        ("n > ", "EXPR001"),
        ("lambda: 1", "EXPR001"),
        ("True", "EXPR001"),  # Python spelling: ours is true
        ("kids.name", "EXPR002"),
        ("1 < n < 3", "EXPR001"),
        ("born < 'soon'", "EXPR003"),
        ("count(n)", "EXPR003"),
    ],
)
def test_definition_problems(text: str, code: str) -> None:
    assert error(text).code == code


def test_condition_must_be_boolean_where_expected() -> None:
    result = compile_expression("n + 1", ENV, expect="bool")
    assert isinstance(result, ExprError) and result.code == "EXPR006"


def test_error_offset_points_at_the_unknown_name() -> None:
    assert error("n > 1 and reasn == 'lost'").offset == len("n > 1 and ")


def test_python_syntax_warnings_are_not_printed() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_expression("1if n else 2", ENV)
    assert [w for w in caught if issubclass(w.category, SyntaxWarning)] == []


@pytest.mark.parametrize("text", ["n is null", "n is not null", "{} is {}"])
def test_is_is_reported_not_raised(text: str) -> None:
    result = error(text)
    assert result.code == "EXPR001" and "==" in (result.hint or "")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_compiling_any_text_never_raises(text: str) -> None:
    result = compile_expression(text, ENV)
    assert isinstance(result, (Compiled, ExprError))


_numbers = st.integers(-1000, 1000)


@st.composite
def arithmetic(draw: st.DrawFn, depth: int = 0) -> tuple[str, int]:
    """A random arithmetic expression over integers and the fields n and m, with its value."""
    if depth > 3 or draw(st.booleans()):
        choice = draw(st.sampled_from(["lit", "n", "m"]))
        if choice == "lit":
            value = draw(_numbers)
            return (f"({value})" if value < 0 else str(value)), value
        return choice, {"n": 7, "m": -3}[choice]
    op = draw(st.sampled_from(["+", "-", "*"]))
    left_text, left = draw(arithmetic(depth + 1))
    right_text, right = draw(arithmetic(depth + 1))
    value = {"+": left + right, "-": left - right, "*": left * right}[op]
    return f"({left_text} {op} {right_text})", value


@settings(max_examples=200, deadline=None)
@given(arithmetic())
def test_arithmetic_agrees_with_integer_arithmetic(case: tuple[str, int]) -> None:
    text, value = case
    assert ok(text)({"n": 7, "m": -3}) == value


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["n > 1", "n == m", "reason == 'lost'", "agree"]),
       st.sampled_from(["n > 1", "n == m", "reason == 'lost'", "agree"]),
       st.fixed_dictionaries({}, optional={"n": st.integers(0, 3), "m": st.integers(0, 3),
                                           "reason": st.sampled_from(["lost", "damaged"]), "agree": st.booleans()}))
def test_three_valued_logic_is_kleene(a: str, b: str, answers: dict[str, object]) -> None:
    left, right = ok(a)(answers), ok(b)(answers)
    both = ok(f"({a}) and ({b})")(answers)
    either = ok(f"({a}) or ({b})")(answers)
    if left is False or right is False:
        assert both is False
    elif left is None or right is None:
        assert both is None
    else:
        assert both is True
    if left is True or right is True:
        assert either is True
    elif left is None or right is None:
        assert either is None
    else:
        assert either is False
