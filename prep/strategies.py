"""Context strategies: how a conversation is fitted into the token budget.

A strategy turns one `Conversation` (messages tokenized once) into `Context`s: rendered
message lines plus the stance pairs asked against them. Whether an over-budget context is an
error or a counted exclusion is decided by the caller (`prep.build`), in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prep import prompt
from prep.tokens import TokenCounter


@dataclass
class Conversation:
    conversation_id: str
    messages: list[dict]  # chronological
    stances: list[dict]
    lines: list[str]  # one rendered line per message
    line_tokens: list[int]
    question_tokens: list[int]  # one per stance


@dataclass
class Context:
    """One rendered context and the pairs asked against it (they share its token prefix)."""

    context_id: str
    lines: list[str]  # message lines and omission markers
    kept: list[int]  # indices of the messages shown, into Conversation.messages
    n_tokens: int
    budget: int
    stance_indices: list[int]  # into Conversation.stances
    meta: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return prompt.context_text(self.lines)


def prepare_conversation(conversation_id: str, messages: list[dict], stances: list[dict],
                         counter: TokenCounter) -> Conversation:
    """Render and tokenize every message once; all strategies select from these counts."""
    number = {m["message_id"]: i for i, m in enumerate(messages, start=1)}
    lines = [prompt.message_line(i, m, number.get(m["reply_to"])) for i, m in enumerate(messages, start=1)]
    questions = counter.question_tokens([(s["statement"], s["contributor"]) for s in stances])
    return Conversation(conversation_id, messages, stances, lines, counter.count(lines), questions)


def full(conversation: Conversation, counter: TokenCounter, sequence_len: int) -> list[Context]:
    """The whole conversation, one context shared by every pair."""
    budget = counter.budget_for_context(sequence_len, conversation.question_tokens)
    return [Context(
        context_id=f"{conversation.conversation_id}/full",
        lines=conversation.lines,
        kept=list(range(len(conversation.lines))),
        n_tokens=counter.context_tokens(conversation.line_tokens),
        budget=budget,
        stance_indices=list(range(len(conversation.stances))),
    )]


STRATEGIES = {"full": full}
