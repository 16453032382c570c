"""Evaluation through lm-evaluation-harness: the task registry (`tasks`), local copies of benchmark data in the
layouts people hold them in (`converters`), official tasks and groups pointed at them (`local`), and running and
reporting (`harness`). `python -m inheritune_core.evaluation run|tasks ...` is its command line.

Local copies. Any lm-eval task or group runs on a local copy of its data: the official task definition runs
unchanged and only the data source is replaced. Copies can be in the Hugging Face schema (JSONL, JSON, Parquet,
CSV), in the converted files llm-foundry's eval bundles ship, or in each benchmark's original release; the
layout is recognised from the file's content. For Table 5, one subfolder per task:

    table5_data/
      wsc273/WSCollection.xml                     piqa/valid.jsonl  piqa/valid-labels.lst
      boolq/dev.jsonl                             winogrande/dev.jsonl
      logiqa/Train.txt  Eval.txt  Test.txt        wnli/dev.tsv  qnli/dev.tsv  mnli/dev_matched.tsv
      mmlu/data/dev/<subject>_dev.csv  mmlu/data/test/<subject>_test.csv   (all 57 subjects)
      truthfulqa/mc_task.json

then `evaluate("runs/my-model/hf", TABLE5_TASKS, local_data="table5_data", strict=False)` or
`python -m inheritune_core.evaluation run --model runs/my-model/hf --tasks table5 --local-data table5_data
--skip-missing`. MMLU runs 5-shot from each subject's dev split, with lm-eval's size-weighted aggregate beside
the subject rows; `strict=False` lists missing tasks in one line and skips them; a copy in an unreadable layout
fails before the model loads with one line naming the missing fields and the fix. `limit=N` scores a seeded
random sample (`sample="first"` for the first N); each row reports `n`, `dropped`, `shots`, `sample`, `seed`
and `wall_s`. Own layouts: `--converter task=module:function` or `register_converter(task, fn)`.
"""
