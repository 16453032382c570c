"""Training: one loop for every model (accumulation, bf16, compile, DDP, KD, checkpoints, exact resume).
`python -m inheritune_core.training ...` trains one model from the command line.

Guarantees (each reproduced by a fault-injection test in tests/test_reliability.py):
- Resume: `--resume` / `train(resume=True)` continues from `ckpt.pt` bit-identically on CPU, only with the same
  config, model and corpus (each token file's sha256 is recorded; a difference is one `error:` line).
- Divergence: a step whose loss or gradient norm is not finite is skipped and counted (`skipped_steps` in
  `result.json`); 3 in a row stop the run. No checkpoint with non-finite weights or validation loss is written.
- Locking: one process owns a run folder (`<run>/.lock`, pid@host); a second prints
  `waiting for pid N@host on <folder>`, waits, then reads the finished run back or resumes it.
- Data checks: `meta.json` records each token file's length, sha256 and largest id; ids at or beyond the
  tokenizer's vocabulary (GPT-2's padding 50257-50303 included) are refused when the corpus is opened.
- Signals: SIGTERM or Ctrl-C checkpoints at the next step boundary and exits with one line (128 + signal);
  temp files of killed writes are removed when the next run or `prepare` starts.
"""
