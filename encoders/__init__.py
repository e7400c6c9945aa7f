"""Small encoder baselines (cross-encoder, bi-encoder, long-context encoder) on prep's JSONL."""
