"""The README's numbers are rendered from committed results: the committed README is the render."""

from __future__ import annotations

import pytest

from bench import readme
from core.cli import UserError


def test_the_readme_equals_its_render_from_committed_results():
    assert readme.main(["--check"])


def test_a_section_is_replaced_between_its_markers_and_prose_is_kept(monkeypatch):
    monkeypatch.setitem(readme.RENDERERS, "demo-scores", lambda: "| new |")
    text = "prose\n<!-- generated: demo-scores -->\n| old |\nstale line\n<!-- end: demo-scores -->\nmore prose\n"
    assert readme.render(text) == "prose\n<!-- generated: demo-scores -->\n| new |\n<!-- end: demo-scores -->\nmore prose\n"


def test_an_unknown_section_is_named():
    with pytest.raises(UserError, match="no renderer for section.*typo"):
        readme.render("<!-- generated: typo -->\nx\n<!-- end: typo -->\n")
