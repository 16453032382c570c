"""Evaluation through lm-evaluation-harness: the task registry (`tasks`), local data and running (`harness`).
`python -m inheritune_core.evaluation run|tasks ...` is its command line."""
