"""The answer vocabulary every package shares: gold labels and what a model may answer."""

LABELS = ("yes", "no")
POSITIVE = "yes"  # the class F1, precision and recall are about
INVALID = "[invalid]"  # an answer that is neither label (e.g. an unparseable generation): scored, never guessed
ANSWERS = (*LABELS, INVALID)
