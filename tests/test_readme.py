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


def test_the_quality_section_keeps_each_headline_table_and_its_subsets_not_the_breakdowns(monkeypatch, tmp_path):
    (tmp_path / "quality.md").write_text(
        "# Quality\n\nintro\n\n## iac\n\nTest: 3 pairs.\n\n| run | F1 |\n|---|---|\n| a | 0.5 |\n\n† footnote\n\n"
        "The same 2 test pairs as the * rows.\n\n| run | F1 |\n|---|---|\n| a | 0.4 |\n\n"
        "Newcomers: the 1 test pairs whose contributor ...\n\n| run | F1 |\n|---|---|\n| a | 0.3 |\n\n"
        "By conversation length (characters): F1\n\n| run | <20K |\n|---|---|\n| a | 0.2 |\n")
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    rendered = readme.quality()
    assert rendered.startswith("#### iac\n\nTest: 3 pairs.") and "† footnote" in rendered
    assert "| a | 0.4 |" in rendered and "Newcomers: the 1" in rendered and "| a | 0.3 |" in rendered
    assert "By conversation length" not in rendered and "| a | 0.2 |" not in rendered
