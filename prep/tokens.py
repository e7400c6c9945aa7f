"""Exact token accounting with the run's own tokenizer and chat template.

Each piece of text (a message text, a question, an answer) is tokenized once; a sample's
length is the sum of its pieces plus the chat template's fixed overhead. That sum is exact
because the prompt template joins pieces at clean tokenizer boundaries (see `prep.prompt`)
and every piece is counted as it sits in the prompt, after other text (after a line break):
byte-level BPE (SmolLM2, Llama 3, Qwen) and SentencePiece-style tokenizers (Mistral, Llama 2)
alike. `check_pieces` and `check_exact` prove it on real lines and samples of every run and
fail loudly for a tokenizer where it does not hold. Short pieces that repeat (message
numbers, dates, times, author names, statements) are counted once per run, so prep costs
about one tokenizer pass over the message texts, whatever the number of contributors and
statements.
"""

from __future__ import annotations

from functools import cached_property

from prep import chat_tokenizer, prompt

ANCHOR = "\n"  # what every counted piece is measured after: a clean boundary for every tokenizer family


class TokenCounter:
    def __init__(self, tokenizer_path: str):
        self.tokenizer_path = str(tokenizer_path)
        self.tokenizer = chat_tokenizer.load(self.tokenizer_path)
        self.known: dict[str, int] = {}  # token counts of short repeated pieces
        self.marker_bounds: dict[int, int] = {}

    def encoded_lengths(self, texts: list[str]) -> list[int]:
        # encode_batch_fast: no character offsets, which counting does not need
        return [len(e) for e in self.tokenizer.backend.encode_batch_fast(texts, add_special_tokens=False)]

    @cached_property
    def anchor_tokens(self) -> int:
        return self.encoded_lengths([ANCHOR])[0]

    def count(self, texts: list[str]) -> list[int]:
        """Tokens each text takes inside the prompt, where it never starts the sequence: counted
        after a line break, less the line break's own tokens. Tokenizers that mark the start of
        a text (SentencePiece's leading '▁') would otherwise count a token too many."""
        if not texts:
            return []
        return [n - self.anchor_tokens for n in self.encoded_lengths([ANCHOR + text for text in texts])]

    def count_known(self, pieces: list[str]) -> list[int]:
        """Counts of short repeated pieces, each tokenized once per run."""
        missing = list(dict.fromkeys(p for p in pieces if p not in self.known))
        self.known.update(zip(missing, self.count(missing)))
        return [self.known[p] for p in pieces]

    def count_split(self, items: list[tuple[list[str], str]]) -> list[int]:
        """Counts of texts given as (repeated pieces, unique rest): the rest is tokenized once, in one batch."""
        self.count_known([p for head, _ in items for p in head])
        rest = self.count([text for _, text in items])
        return [sum(self.known[p] for p in head) + n for (head, _), n in zip(items, rest)]

    def check_pieces(self, texts: list[str], counted: list[int]) -> None:
        actual = self.count(texts)
        for text, want, got in zip(texts, counted, actual):
            if want != got:
                raise RuntimeError(
                    f"token accounting is not exact for {self.tokenizer_path}: {text[:80]!r}... counted {want} "
                    f"tokens piece by piece, {got} as a whole. The tokenizer merges across the prompt's piece "
                    "boundaries.")

    def chat_ids(self, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt)

    @cached_property
    def newline(self) -> int:
        """Tokens of the line break between two lines (alone, a line break may merge with the anchor)."""
        return self.count(["[a\n[b"])[0] - sum(self.count(["[a", "[b"]))

    @cached_property
    def frame(self) -> int:
        """Tokens of the fixed text around the message lines (instructions, block tags)."""
        return sum(self.count([prompt.INSTRUCTIONS + prompt.CONVERSATION_OPEN, prompt.CONVERSATION_CLOSE]))

    @cached_property
    def overhead(self) -> int:
        """Chat-template tokens around the user content and the answer (system prompt, role tags),
        proven on short samples with every answer and with one and two question turns."""
        lines = ["[1] x"]
        questions = [prompt.question_text("s", "c"), prompt.question_text("t", "d")]
        probe = prompt.multi_chat(prompt.context_text(lines), questions[:1], ["yes"])
        overhead = len(self.chat_ids(probe)) - sum(self.count([probe[0]["content"], probe[1]["content"]]))
        context_tokens, question_tokens = self.context_tokens(self.count(lines)), self.count(questions)
        for answers in [[a] for a in prompt.ANSWERS] + [[a, b] for a in prompt.ANSWERS for b in prompt.ANSWERS]:
            messages = prompt.multi_chat(prompt.context_text(lines), questions[:len(answers)], answers)
            turns = self.questions_tokens(question_tokens[:len(answers)], answers)
            self.check_exact(messages, overhead + context_tokens + turns)
        return overhead

    @cached_property
    def turn_overhead(self) -> int:
        """Chat-template tokens each further question + answer turn adds (role tags)."""
        questions = [prompt.question_text("s", "c"), prompt.question_text("t", "d")]
        one = prompt.multi_chat(prompt.context_text(["[1] x"]), questions[:1], ["yes"])
        two = prompt.multi_chat(prompt.context_text(["[1] x"]), questions, ["yes", "no"])
        added = sum(self.count([two[2]["content"], two[3]["content"]]))
        return len(self.chat_ids(two)) - len(self.chat_ids(one)) - added

    @cached_property
    def answer_tokens(self) -> dict[str, int]:
        return dict(zip(prompt.ANSWERS, self.count(list(prompt.ANSWERS))))

    def questions_tokens(self, question_tokens: list[int], answers: list[str] | None = None) -> int:
        """Tokens of the question + answer turns of one sample (the longest answers when not given)."""
        longest = max(self.answer_tokens.values())
        answer_total = (len(question_tokens) * longest if answers is None
                        else sum(self.answer_tokens[a] for a in answers))
        return sum(question_tokens) + answer_total + self.turn_overhead * (len(question_tokens) - 1)

    def budget_for_context(self, sequence_len: int, question_groups: list[list[int]]) -> int:
        """Most context tokens that leave room for the longest sample's questions and answers.

        `question_groups` holds the question token counts of each sample asked against the
        context: one question per sample in the pair layout, several in the multi layout."""
        return sequence_len - self.overhead - max(self.questions_tokens(group) for group in question_groups)

    def context_tokens(self, line_tokens: list[int]) -> int:
        """Tokens of `prompt.context_text(lines)` from the lines' own counts."""
        return self.frame + sum(line_tokens) + self.newline * max(len(line_tokens) - 1, 0)

    def question_tokens(self, pairs: list[tuple[str, str]]) -> list[int]:
        pieces = [prompt.question_pieces(statement, contributor) for statement, contributor in pairs]
        counts = self.count_known([p for question in pieces for p in question])
        return [sum(counts[3 * i:3 * i + 3]) for i in range(len(pairs))]

    def marker_tokens(self, count: int) -> int:
        line = prompt.omission_line(count)
        return self.known[line] if line in self.known else self.count_known([line])[0]

    def marker_bound(self, n_messages: int) -> int:
        """Most tokens an omission line of up to n_messages messages takes, for tokenizers that
        split numbers into digits or digit groups: then the extremes of each digit length bound
        it. `strategies.Selection` checks every rendered context against this bound."""
        if n_messages not in self.marker_bounds:
            counts = {1, 2, n_messages} | {10 ** d - 1 for d in range(1, len(str(n_messages)))}
            self.marker_bounds[n_messages] = max(self.marker_tokens(c) for c in counts if 1 <= c <= max(n_messages, 1))
        return self.marker_bounds[n_messages]

    def sample_tokens(self, context_tokens: int, question_tokens: list[int], answers: list[str]) -> int:
        return self.overhead + context_tokens + self.questions_tokens(question_tokens, answers)

    def check_exact(self, messages: list[dict], expected: int) -> None:
        actual = len(self.chat_ids(messages))
        if actual != expected:
            raise RuntimeError(
                f"token accounting is not exact for {self.tokenizer_path}: counted {expected}, the chat "
                f"template gives {actual}. The tokenizer merges across the prompt's piece boundaries.")
