"""TaskRouter's expression language in the emulator, against the examples in Twilio's docs.

Sources: https://www.twilio.com/docs/taskrouter/expression-syntax (EXPRESSION_SYNTAX),
https://www.twilio.com/docs/taskrouter/workflow-configuration, .../worker-presence.
"""

from __future__ import annotations

from typing import Any

import pytest

from taskrouter_async.testing._expressions import ExpressionError, parse_expression

#: The task attributes the expression-syntax page resolves keys against.
DOC_EXAMPLE = '(language == "en" OR language == "fr") AND skill_rating >= 5.1'
QUEUE_EXAMPLE = "(skills HAS 'support') AND (languages HAS 'english')"
DOC_ATTRIBUTES = {"string_const": "foo", "object": {"array": ["a", "b", "c"], "attr": "bar"}}


@pytest.mark.parametrize(
    ("source", "document", "expected"),
    [
        # EXPRESSION_SYNTAX, "Expression Structure": the listed examples.
        ("1 == 1", {}, True),
        ("1==1", {}, True),
        ("0 != 1", {}, True),
        ('"apple" != "orange"', {}, True),
        ("key > 1", {"key": 2}, True),
        ("key > 1", {"key": 1}, False),
        ('object.param != "apple"', {"object": {"param": "pear"}}, True),
        ('language IN ["en", "es"]', {"language": "es"}, True),
        ('language IN ["en", "es"]', {"language": "fr"}, False),
        ("(condition_a == true) OR (condition_b == true)", {"condition_b": True}, True),
        ("(condition_a == true) OR (condition_b == true)", {"condition_a": False}, False),
        (DOC_EXAMPLE, {"language": "fr", "skill_rating": 6}, True),
        (DOC_EXAMPLE, {"language": "fr", "skill_rating": 5}, False),
        # EXPRESSION_SYNTAX: the TaskQueue and Workflow examples at the top of the page.
        (QUEUE_EXAMPLE, {"skills": ["support"], "languages": ["english"]}, True),
        (QUEUE_EXAMPLE, {"skills": ["sales"], "languages": ["english"]}, False),
        ("customer_value == 'Gold' AND type == 'ticket'", {"customer_value": "Gold", "type": "ticket"}, True),
        # EXPRESSION_SYNTAX, keys: dotted paths and array indices; a missing key is NULL.
        ("string_const == 'foo'", DOC_ATTRIBUTES, True),
        ("object.array HAS 'b'", DOC_ATTRIBUTES, True),
        ("object.array[2] == 'c'", DOC_ATTRIBUTES, True),
        ("object.attr == 'bar'", DOC_ATTRIBUTES, True),
        ("missing == 'bar'", DOC_ATTRIBUTES, False),
        ("missing != 'bar'", DOC_ATTRIBUTES, True),
        # EXPRESSION_SYNTAX, constants: numbers with decimals, booleans, both quotes.
        ("rating == 1.00", {"rating": 1}, True),
        ("vip == true", {"vip": True}, True),
        ("name == 'x'", {"name": "x"}, True),
        # NOT IN, CONTAINS, NOT and lower-case keywords (the docs write them in capitals and in lower case).
        ("language NOT IN ['en', 'es']", {"language": "fr"}, True),
        ("language not in ['en', 'es']", {"language": "en"}, False),
        ("email CONTAINS '@example.com'", {"email": "ann@example.com"}, True),
        ("tags CONTAINS 'gold'", {"tags": ["silver", "goldstar"]}, True),
        ("NOT (vip == true)", {"vip": True}, False),
        # worker-presence and time-of-day pages: '=' as equality.
        ("dayOfWeek = 'Sat'", {"dayOfWeek": "Sat"}, True),
        # Comparisons between different types are false (EXPRESSION_SYNTAX: "should be avoided").
        ("level > '1'", {"level": 2}, False),
    ],
)
def test_documented_examples(source: str, document: dict[str, Any], expected: bool) -> None:
    assert parse_expression(source).matches(document) is expected


@pytest.mark.parametrize(
    ("source", "position", "problem"),
    [
        ("skills HAS", 10, "expected a value"),
        ("skills HASS 'x'", 7, "expected AND, OR"),
        ("(a == 1", 7, "expected ')'"),
        ("a == 1 AND", 10, "expected a value"),
        ("a == #", 5, "unexpected character '#'"),
        ("", 0, "expected an expression"),
        ("a IN [1, b]", 9, "expected a constant"),
    ],
)
def test_an_invalid_expression_points_at_the_offending_token(source: str, position: int, problem: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.position == position
    assert problem in str(caught.value)
