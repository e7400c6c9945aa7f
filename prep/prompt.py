"""The prompt template, written once and versioned.

Layout (v1): instructions, then the conversation, then the per-pair question last, so that
every (statement, contributor) pair of one context shares one token prefix: scoring
reuses that prefix's KV cache and training packs it well.

Token accounting relies on clean tokenizer boundaries: every message line starts with '['
and has no line breaks inside, the conversation block ends with '>' and the question starts
with a line break. With these, the token count of the whole prompt is the sum of the parts'
counts (checked against the real chat template in `prep.tokens`).
"""

from __future__ import annotations

import re

TEMPLATE_VERSION = "v1"

INSTRUCTIONS = (
    "Read the conversation below. Each line is one message: [number] time author, "
    "optionally the message it replies to, then the text.\n"
)
CONVERSATION_OPEN = "<conversation>\n"
CONVERSATION_CLOSE = "\n</conversation>"
QUESTION = (
    '\nStatement: "{statement}"\nContributor: {contributor}\n'
    "Did this contributor express the statement anywhere in the conversation? Answer yes or no."
)
ANSWERS = ("yes", "no")

_WHITESPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Collapse all whitespace (line breaks included) so that a message is exactly one line."""
    return _WHITESPACE.sub(" ", text).strip()


def message_line(number: int, message: dict, parent_number: int | None) -> str:
    timestamp = message["timestamp"][:16].replace("T", " ")
    reply = f" (reply to [{parent_number}])" if parent_number is not None else ""
    return f"[{number}] {timestamp} {one_line(message['author'])}{reply}: {one_line(message['text'])}"


def omission_line(count: int) -> str:
    return f"[… {count} message{'s' if count != 1 else ''} omitted …]"


def context_text(lines: list[str]) -> str:
    """Instructions + conversation block: the shared prefix of every question about it."""
    return INSTRUCTIONS + CONVERSATION_OPEN + "\n".join(lines) + CONVERSATION_CLOSE


def question_text(statement: str, contributor: str) -> str:
    return QUESTION.format(statement=one_line(statement), contributor=one_line(contributor))


def chat(context: str, statement: str, contributor: str, answer: str | None = None) -> list[dict]:
    """Chat-format messages; without `answer` it is the prompt alone, for inference."""
    messages = [{"role": "user", "content": context + question_text(statement, contributor)}]
    if answer is not None:
        if answer not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}, not {answer!r}")
        messages.append({"role": "assistant", "content": answer})
    return messages
