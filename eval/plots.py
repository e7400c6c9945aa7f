"""PNG plots for run reports: reliability curve, and F1 per group for the breakdowns.

Figures are built without pyplot, so writing them neither needs nor changes a GUI backend
(a notebook that imports this keeps its inline plots).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

PLOTTED_BREAKDOWNS = ("position", "length", "language")


def reliability_plot(calibrations: dict[str, dict], path: Path) -> Path:
    """One curve per run: fraction of gold 'yes' against mean P(yes) per bin."""
    figure = Figure(figsize=(4.5, 4.5))
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for name, calibration in calibrations.items():
        curve = calibration["reliability"]
        axes.plot(curve["mean_predicted"], curve["fraction_yes"], marker="o",
                  label=f"{name} (Brier {calibration['brier']:.3f})")
    axes.set(xlabel="mean P(yes) in bin", ylabel="fraction gold yes", xlim=(0, 1), ylim=(0, 1),
             title="Reliability")
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def breakdown_plot(breakdowns: dict[str, list[dict]], path: Path) -> Path | None:
    """F1 per group, one panel per breakdown present (statement and conversation are left to the tables)."""
    shown = [name for name in PLOTTED_BREAKDOWNS if breakdowns.get(name)]
    if not shown:
        return None
    figure = Figure(figsize=(3.5 * len(shown), 3.5))
    panels = figure.subplots(1, len(shown), squeeze=False)
    for axes, name in zip(panels[0], shown):
        rows = breakdowns[name]
        axes.bar([str(r["group"]) for r in rows], [r["f1"] for r in rows], color="tab:blue")
        for x, row in enumerate(rows):
            axes.annotate(f"n={row['n']}", (x, row["f1"]), ha="center", va="bottom", fontsize=7)
        axes.set(title=f"F1 by {name}", ylim=(0, 1.1))
        axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path
