"""The prompt template, written once and versioned.

Layout (v2): instructions, then the conversation, then the per-pair question last, so that
every (statement, contributor) pair of one context shares one token prefix: scoring
reuses that prefix's KV cache and training packs it well. The multi-question layout asks
the first question after the conversation and every further one as its own user turn.

Token accounting relies on clean tokenizer boundaries: every line of the conversation block
(message, omission marker, summary) starts with '[' and has no line breaks inside, the block
ends with '>' and every question starts with a line break. A message line and a question are
also split into pieces that start at clean boundaries (`message_pieces`, `question_pieces`)
so that the short repeated ones (numbers, times, names, statements) are tokenized once per
run. With these, a prompt's token count is the sum of its pieces' counts (checked against
the real chat template in `prep.tokens`).

v2 (from v1): the instructions explain omission and summary lines; summary lines exist.
"""

from __future__ import annotations

TEMPLATE_VERSION = "v2"

INSTRUCTIONS = (
    "Read the conversation below. Each line is one message: [number] time author, "
    "optionally the message it replies to, then the text. Lines without a number stand for "
    "messages left out or summarised.\n"
)
CONVERSATION_OPEN = "<conversation>\n"
CONVERSATION_CLOSE = "\n</conversation>"
QUESTION_STATEMENT = '\nStatement: "{statement}"'
QUESTION_CONTRIBUTOR = "\nContributor: {contributor}"
QUESTION_ASK = "\nDid this contributor express the statement anywhere in the conversation? Answer yes or no."
ANSWERS = ("yes", "no")

SUMMARY_REQUEST = (
    "Summarise these messages from a public discussion in a few sentences. Name every author "
    "who takes a position and say which position, in English.\n\n{messages}"
)


def one_line(text: str) -> str:
    """Collapse all whitespace (line breaks included) so that a message is exactly one line."""
    return " ".join(text.split())


def message_pieces(number: int, message: dict, parent_number: int | None) -> tuple[list[str], str]:
    """`[n] YYYY-MM-DD HH:MM author (reply to [k]): text` as (repeated pieces, text piece).

    Each piece starts at a pre-tokenizer boundary: a space, a digit after punctuation, or
    punctuation after a digit; hours and minutes are separate pieces (24 + 60 of them). The
    colon stays with the piece before it, so that an author name ending in punctuation never
    merges across a boundary."""
    timestamp = message["timestamp"]
    head = ["[", str(number), "]", f" {timestamp[:10]}", f" {timestamp[11:13]}", timestamp[13:16]]
    author = f" {one_line(message['author'])}"
    if parent_number is None:
        head.append(author + ":")
    else:
        head += [author, " (reply to [", str(parent_number), "]):"]
    return head, f" {one_line(message['text'])}"


def message_line(number: int, message: dict, parent_number: int | None) -> str:
    head, text = message_pieces(number, message, parent_number)
    return "".join(head) + text


def omission_line(count: int) -> str:
    return f"[… {count} message{'s' if count != 1 else ''} omitted …]"


def summary_line(first: int, last: int, summary: str) -> str:
    return f"[summary of messages [{first}] to [{last}]] {one_line(summary) or '(empty)'}"


def context_text(lines: list[str]) -> str:
    """Instructions + conversation block: the shared prefix of every question about it."""
    return INSTRUCTIONS + CONVERSATION_OPEN + "\n".join(lines) + CONVERSATION_CLOSE


def question_pieces(statement: str, contributor: str) -> list[str]:
    return [QUESTION_STATEMENT.format(statement=one_line(statement)),
            QUESTION_CONTRIBUTOR.format(contributor=one_line(contributor)), QUESTION_ASK]


def question_text(statement: str, contributor: str) -> str:
    return "".join(question_pieces(statement, contributor))


def context_and_question(user_turn: str) -> tuple[str, str]:
    """A first user turn split back into (`context_text`, `question_text`), for models that read
    the two apart (encoders). Exact: no message or statement line holds a line break, so the
    conversation block's closing line occurs once, right before the question."""
    context, close, question = user_turn.rpartition(CONVERSATION_CLOSE)
    if not close or not question.startswith(QUESTION_STATEMENT.split("{")[0]):
        raise ValueError(f"not a template {TEMPLATE_VERSION} prompt: no conversation block followed by a question")
    return context + close, question


def multi_chat(context: str, questions: list[str], answers: list[str] | None = None) -> list[dict]:
    """Chat messages: the context with the first question (`question_text`), each further question
    its own user turn, each followed by its answer. Without `answers`: the prompt of one question."""
    if answers is None and len(questions) != 1:
        raise ValueError("a prompt without answers asks exactly one question")
    if answers is not None and len(answers) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(answers)} answers")
    messages = []
    for turn, question in enumerate(questions):
        messages.append({"role": "user", "content": context + question if turn == 0 else question})
        if answers is not None:
            if answers[turn] not in ANSWERS:
                raise ValueError(f"answer must be one of {ANSWERS}, not {answers[turn]!r}")
            messages.append({"role": "assistant", "content": answers[turn]})
    return messages


def chat(context: str, statement: str, contributor: str, answer: str | None = None) -> list[dict]:
    """One question; without `answer` it is the prompt alone, for inference."""
    return multi_chat(context, [question_text(statement, contributor)], None if answer is None else [answer])
