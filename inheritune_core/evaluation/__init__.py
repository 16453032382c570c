"""Evaluation through lm-evaluation-harness: the task registry (`tasks`), local copies of benchmark data in the
layouts people hold them in (`converters`), official tasks and groups pointed at them (`local`), and running and
reporting (`harness`). `python -m inheritune_core.evaluation run|tasks ...` is its command line."""
