"""Exact token accounting with the run's own tokenizer and chat template.

Each piece of text (a message line, a question, an answer) is tokenized once; a sample's
length is the sum of its pieces plus the chat template's fixed overhead. That sum is exact
because the prompt template joins pieces at clean tokenizer boundaries (see `prep.prompt`);
`check_exact` proves it on real samples and fails loudly for a tokenizer where it is not.
"""

from __future__ import annotations

from functools import cached_property

from transformers import AutoTokenizer

from prep import prompt


class TokenCounter:
    def __init__(self, tokenizer_path: str):
        self.tokenizer_path = str(tokenizer_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path)

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def chat_ids(self, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
        return list(self.tokenizer.apply_chat_template(
            messages, tokenize=True, add_generation_prompt=add_generation_prompt, return_dict=False))

    @cached_property
    def newline(self) -> int:
        return self.count(["\n"])[0]

    @cached_property
    def frame(self) -> int:
        """Tokens of the fixed text around the message lines (instructions, block tags)."""
        return sum(self.count([prompt.INSTRUCTIONS + prompt.CONVERSATION_OPEN, prompt.CONVERSATION_CLOSE]))

    @cached_property
    def overhead(self) -> int:
        """Chat-template tokens around the user content and the answer (system prompt, role tags)."""
        probe = prompt.chat(prompt.context_text(["[1] x"]), "s", "c", "yes")
        content, answer = probe[0]["content"], probe[1]["content"]
        return len(self.chat_ids(probe)) - sum(self.count([content, answer]))

    @cached_property
    def answer_tokens(self) -> dict[str, int]:
        return dict(zip(prompt.ANSWERS, self.count(list(prompt.ANSWERS))))

    def budget_for_context(self, sequence_len: int, question_tokens: list[int]) -> int:
        """Most context tokens that leave room for the longest question and answer."""
        return sequence_len - self.overhead - max(question_tokens) - max(self.answer_tokens.values())

    def context_tokens(self, line_tokens: list[int]) -> int:
        """Tokens of `prompt.context_text(lines)` from the lines' own counts."""
        return self.frame + sum(line_tokens) + self.newline * max(len(line_tokens) - 1, 0)

    def question_tokens(self, pairs: list[tuple[str, str]]) -> list[int]:
        return self.count([prompt.question_text(statement, contributor) for statement, contributor in pairs])

    def sample_tokens(self, context_tokens: int, question_tokens: int, answer: str) -> int:
        return self.overhead + context_tokens + question_tokens + self.answer_tokens[answer]

    def check_exact(self, messages: list[dict], expected: int) -> None:
        actual = len(self.chat_ids(messages))
        if actual != expected:
            raise RuntimeError(
                f"token accounting is not exact for {self.tokenizer_path}: counted {expected}, the chat "
                f"template gives {actual}. The tokenizer merges across the prompt's piece boundaries.")
