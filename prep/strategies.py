"""Context strategies: how a conversation is fitted into the token budget.

A strategy turns one `Conversation` (messages tokenized once) into `Context`s: rendered lines
plus the stance pairs asked against them (they share its token prefix).

    full       the whole conversation, one context for every pair
    truncate   whole messages dropped from the head (keeps the latest), the tail (keeps the
               earliest) or the middle (keeps start and end) until the context fits
    summarise  the latest messages verbatim, the earlier ones condensed by an LLM (`prep.summarise`)
    snippets   one context per message of a contributor: the message, its reply parent and the
               messages before it up to --snippet-context-tokens. Message-level data for small
               encoders. A snippet's training label is the contributor's label (weak labels):
               a message that does not itself state the claim is still 'yes' when its author
               stated it elsewhere; there are no message-level labels yet. Predictions go back
               to the contributor with any-yes over the rows of one (conversation, statement,
               contributor); `meta.message_id` names the message
    focus      one context per contributor: all their messages (as many as fit, shortest first,
               when not all do), their reply parents and the nearest preceding messages, in
               order, filling the budget

Every run of left-out messages shows as an omission line ("[… 14 messages omitted …]"). The
budget leaves room for the question and answer turns of the layout (`question_groups`).
Whether a context still over budget is an error or a counted exclusion is decided by the
caller (`prep.build`), in one place.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from core.cli import UserError
from prep import prompt
from prep.summarise import Summariser
from prep.summarise import add_arguments as add_summariser_arguments
from prep.summarise import from_args as summariser_from_args
from prep.tokens import TokenCounter

LAYOUTS = ("pair", "multi")
TRUNCATE_SIDES = ("head", "tail", "middle")


@dataclass
class Conversation:
    conversation_id: str
    messages: list[dict]  # chronological
    stances: list[dict]
    lines: list[str]  # one rendered line per message
    line_tokens: list[int]
    questions: list[str]  # one rendered question per stance
    question_tokens: list[int]
    parents: list[int | None]  # index of the message each one replies to
    by_author: dict[str, list[int]]  # author -> indices of their messages

    @cached_property
    def stances_by_contributor(self) -> dict[str, list[int]]:
        grouped = defaultdict(list)
        for index, stance in enumerate(self.stances):
            grouped[stance["contributor"]].append(index)
        return dict(grouped)


@dataclass
class Context:
    """One rendered context and the pairs asked against it (they share its token prefix)."""

    context_id: str
    lines: list[str]  # message lines, omission markers and summaries
    kept: list[int]  # indices of the messages shown verbatim, into Conversation.messages
    n_tokens: int
    budget: int
    stance_indices: list[int]  # into Conversation.stances
    meta: dict = field(default_factory=dict)

    @cached_property
    def text(self) -> str:
        return prompt.context_text(self.lines)


@dataclass(frozen=True)
class Options:
    """Everything besides sequence_len that shapes the contexts; recorded in the prep report."""

    layout: str = "pair"  # the training layout: pair = one question per sample, multi = several
    questions_per_sample: int = 16  # multi layout
    truncate_side: str = "middle"
    snippet_context_tokens: int = 512
    summariser: Summariser | None = None
    summary_share: float = 0.25  # of the budget kept for summaries
    summary_chunk_tokens: int = 1024  # messages condensed per summariser call

    def __post_init__(self):
        if self.layout not in LAYOUTS or self.truncate_side not in TRUNCATE_SIDES:
            raise UserError(f"layout must be one of {LAYOUTS} and truncate_side one of {TRUNCATE_SIDES}")
        if self.questions_per_sample < 1 or self.snippet_context_tokens < 0 or not 0 < self.summary_share < 1:
            raise UserError("questions_per_sample >= 1, snippet_context_tokens >= 0 and 0 < summary_share < 1")

    def record(self) -> dict:
        return {"layout": self.layout, "questions_per_sample": self.questions_per_sample,
                "truncate_side": self.truncate_side, "snippet_context_tokens": self.snippet_context_tokens,
                "summary_share": self.summary_share, "summary_chunk_tokens": self.summary_chunk_tokens,
                "summariser": self.summariser.describe() if self.summariser else None}


def question_groups(stance_indices: list[int], layout: str, questions_per_sample: int) -> list[list[int]]:
    """The stances of one context, grouped into samples: one each (pair) or up to N each (multi)."""
    size = 1 if layout == "pair" else questions_per_sample
    return [stance_indices[start:start + size] for start in range(0, len(stance_indices), size)]


def prepare_conversation(conversation_id: str, messages: list[dict], stances: list[dict],
                         counter: TokenCounter) -> Conversation:
    """Render and tokenize every message once; all strategies select from these counts."""
    index = {m["message_id"]: i for i, m in enumerate(messages)}
    parents = [index.get(m.get("reply_to")) for m in messages]
    pieces = [prompt.message_pieces(i + 1, m, None if p is None else p + 1)
              for i, (m, p) in enumerate(zip(messages, parents))]
    lines = ["".join(head) + text for head, text in pieces]
    line_tokens = counter.count_split(pieces)
    spot = range(0, len(lines), max(1, len(lines) // 8))  # prove the piecewise counts on a few lines
    counter.check_pieces([lines[i] for i in spot], [line_tokens[i] for i in spot])
    pairs = [(s["statement"], s["contributor"]) for s in stances]
    questions = [prompt.question_text(*pair) for pair in pairs]
    question_tokens = counter.question_tokens(pairs)
    counter.check_pieces(questions[:1], question_tokens[:1])
    by_author = defaultdict(list)
    for i, message in enumerate(messages):
        by_author[message["author"]].append(i)
    return Conversation(conversation_id, messages, stances, lines, line_tokens, questions, question_tokens, parents,
                        dict(by_author))


def context_budget(conversation: Conversation, counter: TokenCounter, sequence_len: int, options: Options,
                   stance_indices: list[int]) -> int:
    groups = question_groups(stance_indices, options.layout, options.questions_per_sample)
    return counter.budget_for_context(sequence_len, [[conversation.question_tokens[i] for i in g] for g in groups])


class Selection:
    """Messages chosen for one context, with an upper bound on its tokens kept up to date.

    Each run of left-out messages becomes one omission line; while selecting, every such
    line is costed at the most an omission line of this conversation can take, and the
    rendered context is counted exactly."""

    def __init__(self, conversation: Conversation, counter: TokenCounter, budget: int):
        self.conversation, self.counter, self.budget = conversation, counter, budget
        self.n = len(conversation.lines)
        self.kept: set[int] = set()
        self.marker = counter.marker_bound(self.n)
        self.cost = counter.frame + self.marker  # nothing kept: one omission line

    def __contains__(self, index: int) -> bool:
        return index in self.kept

    def add(self, index: int, force: bool = False) -> bool:
        """Keep message `index` if the context still fits (always, with force); True if kept."""
        if index in self.kept:
            return True
        gap_left = index > 0 and index - 1 not in self.kept
        gap_right = index < self.n - 1 and index + 1 not in self.kept
        new_gaps = gap_left + gap_right - 1  # the run it was in splits, shrinks or closes
        cost = (self.cost + self.conversation.line_tokens[index] + new_gaps * self.marker
                + (1 + new_gaps) * self.counter.newline)
        if cost > self.budget and not force:
            return False
        self.kept.add(index)
        self.cost = cost
        return True

    def fill(self, order) -> None:
        """Keep messages in `order` until the next one does not fit."""
        for index in order:
            if not self.add(index):
                return

    def omission_lines(self) -> list[str]:
        kept = sorted(self.kept)
        return [prompt.omission_line(index - previous - 1)
                for previous, index in zip([-1] + kept, kept + [self.n]) if index - previous > 1]

    def context(self, context_id: str, stance_indices: list[int], meta: dict | None = None) -> Context:
        kept = sorted(self.kept)
        lines, counts = [], []
        for previous, index in zip([-1] + kept, kept + [self.n]):
            if index - previous > 1:
                lines.append(prompt.omission_line(index - previous - 1))
                counts.append(self.counter.marker_tokens(index - previous - 1))
            if index < self.n:
                lines.append(self.conversation.lines[index])
                counts.append(self.conversation.line_tokens[index])
        n_tokens = self.counter.context_tokens(counts)
        if n_tokens > self.cost:
            raise RuntimeError(f"{context_id}: omission lines took more tokens than the bound "
                               f"{self.marker} of {self.counter.tokenizer_path}")
        return Context(context_id, lines, kept, n_tokens, self.budget, stance_indices, meta or {})


def render(counter: TokenCounter, selections: list[tuple[Selection, str, list[int], dict]]) -> list[Context]:
    """Contexts of many selections; omission lines of new lengths are counted in one tokenizer call."""
    counter.count_known([line for selection, *_ in selections for line in selection.omission_lines()])
    return [selection.context(*details) for selection, *details in selections]


def full(conversation: Conversation, counter: TokenCounter, sequence_len: int,
         options: Options = Options()) -> list[Context]:
    """The whole conversation, one context shared by every pair."""
    everyone = list(range(len(conversation.stances)))
    return [Context(
        context_id=f"{conversation.conversation_id}/full",
        lines=conversation.lines,
        kept=list(range(len(conversation.lines))),
        n_tokens=counter.context_tokens(conversation.line_tokens),
        budget=context_budget(conversation, counter, sequence_len, options, everyone),
        stance_indices=everyone,
    )]


def truncate(conversation: Conversation, counter: TokenCounter, sequence_len: int,
             options: Options = Options()) -> list[Context]:
    """Whole messages dropped from one side (or the middle) until the context fits."""
    everyone = list(range(len(conversation.stances)))
    selection = Selection(conversation, counter, context_budget(conversation, counter, sequence_len, options, everyone))
    n, side = len(conversation.lines), options.truncate_side
    if side == "tail":
        selection.fill(range(n))
    elif side == "head":
        selection.fill(range(n - 1, -1, -1))
    else:  # grow start and end alternately, the side with fewer tokens so far first
        ends, used, growing = [0, n - 1], [0, 0], [True, True]
        while ends[0] <= ends[1] and any(growing):
            side_index = 0 if growing[0] and (used[0] <= used[1] or not growing[1]) else 1
            index = ends[side_index]
            if selection.add(index):
                used[side_index] += conversation.line_tokens[index]
                ends[side_index] += 1 if side_index == 0 else -1
            else:
                growing[side_index] = False
    return [selection.context(f"{conversation.conversation_id}/truncate-{side}", everyone, {"truncate_side": side})]


def snippets(conversation: Conversation, counter: TokenCounter, sequence_len: int,
             options: Options = Options()) -> list[Context]:
    """One context per message of each asked contributor: the message, its reply parent and the
    messages before it, up to options.snippet_context_tokens tokens of context."""
    selections = []
    line_tokens = conversation.line_tokens
    for contributor, stance_indices in conversation.stances_by_contributor.items():
        budget = context_budget(conversation, counter, sequence_len, options, stance_indices)
        for target in conversation.by_author.get(contributor, []):
            selection = Selection(conversation, counter, budget)
            selection.add(target, force=True)  # over budget on its own: the caller's policy decides
            room = options.snippet_context_tokens
            parent = conversation.parents[target]
            if parent is not None and parent != target and line_tokens[parent] <= room and selection.add(parent):
                room -= line_tokens[parent]
            for index in range(target - 1, -1, -1):
                if index in selection:
                    continue
                if line_tokens[index] > room or not selection.add(index):
                    break
                room -= line_tokens[index]
            message_id = conversation.messages[target]["message_id"]
            selections.append((selection, f"{conversation.conversation_id}/snippet/{message_id}", stance_indices,
                               {"message_id": message_id, "aggregate": "any-yes", "label_level": "contributor"}))
    return render(counter, selections)


def focus(conversation: Conversation, counter: TokenCounter, sequence_len: int,
          options: Options = Options()) -> list[Context]:
    """One context per asked contributor: their messages first, then the messages they reply to,
    then the nearest preceding messages, one more before each of their messages per round.

    When not all their messages fit, as many as fit, shortest first: with the key message's
    position unknown, keeping the most messages gives it the best chance."""
    selections = []
    for contributor, stance_indices in conversation.stances_by_contributor.items():
        selection = Selection(conversation, counter,
                              context_budget(conversation, counter, sequence_len, options, stance_indices))
        own = conversation.by_author.get(contributor, [])
        by_length = sorted(own, key=lambda index: (conversation.line_tokens[index], index))
        anchors = sorted(index for index in by_length if selection.add(index))
        if own and not anchors:
            selection.add(by_length[0], force=True)  # not one message fits: the caller's policy decides
        for index in anchors:
            parent = conversation.parents[index]
            if parent is not None:
                selection.add(parent)
        reach = {anchor: anchor - 1 for anchor in anchors}
        while reach:
            for anchor, index in list(reach.items()):
                if index >= 0 and index not in selection and selection.add(index):
                    reach[anchor] = index - 1
                else:
                    del reach[anchor]
        selections.append((selection, f"{conversation.conversation_id}/focus/{contributor}", stance_indices,
                           {"focus_contributor": contributor}))
    return render(counter, selections)


def summarise(conversation: Conversation, counter: TokenCounter, sequence_len: int,
              options: Options = Options()) -> list[Context]:
    """The latest messages verbatim in (1 - summary_share) of the budget; everything before
    them condensed into summary lines, summaries of summaries until they fit."""
    if options.summariser is None:
        raise ValueError("the summarise strategy needs a summariser (see prep.summarise)")
    whole = full(conversation, counter, sequence_len, options)[0]
    context_id = f"{conversation.conversation_id}/summarise"
    if whole.n_tokens <= whole.budget:
        whole.context_id, whole.meta = context_id, {"messages_summarised": 0}
        return [whole]
    selection = Selection(conversation, counter, whole.budget - int(whole.budget * options.summary_share))
    selection.fill(range(len(conversation.lines) - 1, -1, -1))
    tail = sorted(selection.kept)
    first_verbatim = tail[0] if tail else len(conversation.lines)
    tail_tokens = [conversation.line_tokens[i] for i in tail]
    # room for the summary lines, each with the line break that joins it to the next line
    room = whole.budget - counter.context_tokens(tail_tokens) + (0 if tail else counter.newline)
    summary = condense(conversation, counter, options, first_verbatim, room)
    # when not even one summary fits, an omission line stands in: the tail selection reserved room for one
    lines, counts = summary or ([prompt.omission_line(first_verbatim)], [counter.marker_tokens(first_verbatim)])
    return [Context(context_id, lines + [conversation.lines[i] for i in tail], tail,
                    counter.context_tokens(counts + tail_tokens), whole.budget, whole.stance_indices,
                    {"messages_summarised": first_verbatim, "summary_lines": len(summary[0]) if summary else 0})]


def condense(conversation: Conversation, counter: TokenCounter, options: Options, end: int,
             room: int) -> tuple[list[str], list[int]] | None:
    """Summary lines for messages [0, end) whose tokens (+ one line break each) fit in `room`;
    None when even a single summary does not.

    Consecutive lines are condensed in chunks of about summary_chunk_tokens, at least two per
    chunk, so every level at least halves the lines until one is left."""
    items = [(i + 1, i + 1, conversation.lines[i], conversation.line_tokens[i]) for i in range(end)]
    while True:
        chunks, used = [[]], 0
        for item in items:
            if len(chunks[-1]) >= 2 and used + item[3] > options.summary_chunk_tokens:
                chunks.append([])
                used = 0
            chunks[-1].append(item)
            used += item[3]
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks[-2] += chunks.pop()
        lines = [prompt.summary_line(chunk[0][0], chunk[-1][1], options.summariser([item[2] for item in chunk]))
                 for chunk in chunks]
        counts = counter.count(lines)
        if sum(counts) + counter.newline * len(lines) <= room:
            return lines, counts
        if len(lines) == 1:
            return None
        items = [(chunk[0][0], chunk[-1][1], line, count) for chunk, line, count in zip(chunks, lines, counts)]


STRATEGIES = {"full": full, "truncate": truncate, "summarise": summarise, "snippets": snippets, "focus": focus}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`Options` as flags of `python -m prep.build` (next to its --strategy and --sequence-len)."""
    parser.add_argument("--layout", choices=LAYOUTS, default=Options.layout,
                        help="train split: one question per sample (pair) or several question turns per sample "
                             "(multi); dev and test are always one row per pair, for eval")
    parser.add_argument("--questions-per-sample", type=int, default=Options.questions_per_sample, help="multi layout")
    parser.add_argument("--truncate-side", choices=TRUNCATE_SIDES, default=Options.truncate_side,
                        help="truncate: drop messages from the head (keeps the latest), the tail (keeps the "
                             "earliest) or the middle (keeps start and end)")
    parser.add_argument("--snippet-context-tokens", type=int, default=Options.snippet_context_tokens,
                        help="snippets: most tokens of messages shown before each message")
    parser.add_argument("--summary-share", type=float, default=Options.summary_share,
                        help="summarise: share of the context budget for summaries of earlier messages")
    parser.add_argument("--summary-chunk-tokens", type=int, default=Options.summary_chunk_tokens,
                        help="summarise: tokens of messages condensed per summariser call")
    add_summariser_arguments(parser)


def options_from_args(args: argparse.Namespace) -> Options:
    return Options(layout=args.layout, questions_per_sample=args.questions_per_sample, truncate_side=args.truncate_side,
                   snippet_context_tokens=args.snippet_context_tokens, summary_share=args.summary_share,
                   summary_chunk_tokens=args.summary_chunk_tokens,
                   summariser=summariser_from_args(args) if args.strategy == "summarise" else None)
