"""Yes/no extraction from free-text answers (generation, API models).

An answer counts only where the text plainly gives one: a yes/no that stands alone as a
clause ("Yes.", "**No**", "I think yes", "The answer is: no") or a Chinese answer that opens
the text (是, 是的, 否, 不是, ...). Text that gives both answers, or neither ("No idea",
"maybe"), is '[invalid]': counted and reported, never guessed.
"""

from __future__ import annotations

import re
import unicodedata

from core.labels import INVALID

_MARKUP = re.compile(r"[*_`#>\"'“”‘’「」『』\[\]()]")
_END = r"\s*(?=$|[.,;:!?。，；：！？\n-])"
_OPENING_ZH = re.compile(r"^(?:答案)?(?:是|为|為)?[:：]?\s*(不是|不对|不對|否|没有|沒有|是|对|對|有)(?![\u4e00-\u9fff])|"
                         r"^(不是|不对|不對|否|是的|对的|對的)")
# A clause that is only yes/no: after the start, punctuation or a lead-in, before punctuation or the end.
_LEAD_IN = r"(?:^|[.,;:!?。，；：！？\n]|\b(?:answer(?: is)?|i think|i believe|i would say|i'd say|so|thus|therefore)\b)"
_CLAUSE = re.compile(_LEAD_IN + r"\s*(yes|no)" + _END)
_ZH = {"不是": "no", "不对": "no", "不對": "no", "否": "no", "没有": "no", "沒有": "no",
       "是": "yes", "是的": "yes", "对": "yes", "對": "yes", "对的": "yes", "對的": "yes", "有": "yes"}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _MARKUP.sub("", text).strip().lower()


def parse_answer(text: str | None) -> str:
    """'yes', 'no' or '[invalid]'."""
    if not text:
        return INVALID
    text = normalise(text)
    found = {m.group(1) for m in _CLAUSE.finditer(text)}
    zh = _OPENING_ZH.match(text)
    if zh:
        found.add(_ZH[zh.group(1) or zh.group(2)])
    return found.pop() if len(found) == 1 else INVALID
