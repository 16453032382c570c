"""Training: one loop for every model (accumulation, bf16, compile, DDP, KD, checkpoints, exact resume).
`python -m inheritune_core.training ...` (or `inheritune train ...`) trains one model from the command line.

Modules, one concern each: `config` (TrainConfig, TrainResult), `optim` (schedule, AdamW, KD loss), `modules`
(model wrappers), `distributed` (torchrun), `validation` (periodic and whole-split losses), `state` (the one
TrainState saved and loaded whole), `checkpoint` (ckpt.pt), `resume` (same-run checks, result.json), `loop`
(`train`), `cli`; `trainer` re-exports them all.

Guarantees (each reproduced by a fault-injection test in tests/test_reliability.py or tests/test_trust.py):
- Resume: `--resume` / `train(resume=True)` continues from `ckpt.pt` bit-identically on CPU, only with the same
  config, model and corpus (each token file's sha256 is recorded; a difference is one `error:` line).
- Trust: a ckpt.pt is always read with `torch.load(weights_only=True)`: it holds tensors and plain values only
  (ints, floats, strings, lists, dicts; the RNG states as lists and tensors), and a pickle payload in it never
  runs: it is refused in one line (test_a_pickle_payload_in_ckpt_pt_never_runs). Checkpoints written by earlier
  versions (NumPy RNG state as an array) still load and resume: exactly NumPy's array-rebuilding globals are
  allowed for them (test_a_checkpoint_of_the_older_format_still_resumes). A file holding any other Python
  object is refused with a message to delete it and train again (no converter: nothing the package wrote
  needs one).
- Divergence: a step whose loss or gradient norm is not finite is skipped and counted (`skipped_steps` in
  `result.json`); 3 in a row stop the run. No checkpoint with non-finite weights or validation loss is written.
- Locking: one process owns a run folder (`<run>/.lock`, pid@host); a second prints
  `waiting for pid N@host on <folder>`, waits, then reads the finished run back or resumes it.
- Data checks: `meta.json` records each token file's length, sha256 and largest id; ids at or beyond the
  tokenizer's vocabulary (GPT-2's padding 50257-50303 included) are refused when the corpus is opened.
  That cache is trusted only while the file's size, mtime_ns, ctime_ns and inode are unchanged: a token file
  edited in place (even with its mtime set back) is scanned again, so its out-of-vocabulary ids are refused and
  `--resume` on it is refused by its real sha256 (tests/test_inputs.py
  test_a_token_file_edited_in_place_is_read_again_not_trusted, test_resume_on_a_corpus_edited_in_place_is_refused).
  A meta.json that is not UTF-8 is one line naming it (test_non_utf8_meta_json_is_one_line_naming_the_file).
- Same answer on every CPU: statistics that pick a layer (angular distance, block influence) treat values within
  1e-6 as ties and break them the documented way, never by BLAS rounding noise (tests/test_inputs.py
  test_zero_distance_blocks_tie_to_the_earliest_whatever_the_noise).
- Signals: SIGTERM or Ctrl-C checkpoints at the next step boundary and exits with one line (128 + signal);
  temp files of killed writes are removed when the next run or `prepare` starts.
- Bad run folders, before any training (tests/test_trust.py): a ckpt.pt, result.json or metrics.csv that is a
  directory; a result.json field of the wrong type; an out_dir that is a file, read-only or not writable: each
  is one `error:` line naming the path (exit 2). A full disk or the file-size limit (`ulimit -f`: SIGXFSZ is
  ignored while training, so the write fails with EFBIG) during a checkpoint write is one line too, and the
  previous checkpoint stays intact.
"""
