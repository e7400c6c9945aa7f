"""Yes/no extraction: plain answers are read, anything unclear is '[invalid]'."""

import pytest

from core.labels import INVALID
from eval.parse import parse_answer


@pytest.mark.parametrize("text, expected", [
    ("Yes.", "yes"), ("no", "no"), ("**No**", "no"), ("  YES!", "yes"), ("I think yes", "yes"),
    ("The answer is: No", "no"), ("Answer: yes", "yes"), ("No, he did not say yes", "no"),
    ("Yes, the contributor said it.", "yes"), ("`yes`", "yes"),
    ("是", "yes"), ("是的，他说过", "yes"), ("否", "no"), ("不是。", "no"), ("答案是：是", "yes"), ("沒有", "no"),
])
def test_plain_answers_are_read(text, expected):
    assert parse_answer(text) == expected


@pytest.mark.parametrize("text", [
    "", None, "maybe", "No idea", "Yes and no", "yes, no", "There is no evidence", "It depends.",
    "The contributor", "是。No", "这是一个问题",
])
def test_unclear_answers_are_invalid_not_guessed(text):
    assert parse_answer(text) == INVALID
