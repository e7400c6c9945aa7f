"""What every package shares, and nothing else: the floor of the project.

    core.cli      UserError and the CLI runner: a problem the user can fix exits 2 with its message
    core.labels   the label and answer vocabulary (yes / no / [invalid])
    core.jsonl    the one JSONL reader and writer
    core.runs     the run format: predictions.jsonl rows, read and checked
    core.metrics  contributor-level metrics from gold and predicted answers
    core.manifest what made a result: commit, config and data hashes, versions, seed, hardware

core imports nothing of the project; prep imports core only; eval, encoders, plan and bench
stand above both (tests/test_layout.py).
"""
