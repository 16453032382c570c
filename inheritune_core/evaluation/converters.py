"""Local copies of benchmark data, in the layouts people actually hold them in, turned into official documents.

lm-eval's task definitions read the fields of the official Hugging Face dataset (`{{passage}}`, `doc["answer"]`).
A local copy is rarely in that schema: other evaluation frameworks ship "converted" files, and each benchmark's
own release has its own format. This module recognises a file's layout from its CONTENT (fields, structure), never
from its name, and converts it to the official documents, so the official task definition runs on them unchanged.

Layouts (each converter states the source it follows; the tests build every layout from official documents):

- the official Hugging Face schema, as JSONL, JSON, Parquet or CSV (used as it is);
- mosaicml/llm-foundry's local ICL files (scripts/eval/local_data, also the "eval bundle" other projects copy):
  multiple choice `{query, choices, gold}` (ARC, PIQA, LogiQA, MMLU with `category`, and BoolQ folded into
  one prompt "Passage: ...\\nQuestion: ...?"), Winograd schema `{context_options, continuation, gold}`
  (WinoGrande, WSC273) and language modelling `{context, continuation}` (LAMBADA);
- the benchmarks' own releases: PIQA (`valid.jsonl` + `valid-labels.lst`), BoolQ (Google's jsonl with `title`,
  SuperGLUE's with true/false labels), LogiQA (`Train.txt`/`Eval.txt`/`Test.txt` text blocks), MMLU (per-subject
  CSV files without header, `data/{dev,val,test}/<subject>_<split>.csv`), GLUE (`WNLI/dev.tsv`, `QNLI/dev.tsv`,
  `MNLI/dev_matched.tsv`), TruthfulQA (`mc_task.json`), WSC (`WSCollection.xml`) and WikiText (`wiki.test.raw`);
- flattened multiple choice, as a CSV export of a Hub dataset spreads it: `question, choice0..choice3, answer`
  (or `A..D`, `option_a..`; the answer an index or a letter) for MMLU, ARC, LogiQA, WSC, PIQA and WinoGrande.

This module is the front door; the code lives in one module per concern: `records` (official schemas, readers,
the UTF-8 and per-document checks), `benchmarks` (llm-foundry and release conversions, the `LAYOUTS` table),
`flattened` (the flattened layouts) and `layouts` (detection, split and subset matching, user converters,
converting one split).

Split files are matched case-insensitively on the words of their names (`Test.txt`, `test.jsonl`,
`test-00000-of-00001.parquet`, `dev.tsv` for validation, `dev_matched.tsv` for MNLI's validation_matched...).
For a task group (MMLU), a file belongs to a subtask when a folder or its name is the subtask's subset
(`abstract_algebra/test-00000-of-00001.parquet`, `data/test/abstract_algebra_test.csv`); a file for all subsets
(llm-foundry's `mmlu.jsonl`, the Hub's `all/` folder) is filtered on its subject field.

A user converter is a plain function: `dict -> dict` (applied to every record of a JSON/JSONL/CSV/Parquet file;
returning None drops the record) or `path -> iterable of dicts` (a reader for a whole file; annotate its first
parameter as `Path` or `str`). Register it with `register_converter(task, fn)` or, on the command line,
`--converter task=module:function`.

Nothing here imports torch or lm-eval: converting and checking happen before any model is loaded.
"""

from __future__ import annotations

from .benchmarks import LAYOUTS, layouts_for
from .flattened import FLAT_CHOICES, flat_choice_columns
from .layouts import (
    OFFICIAL_LAYOUT,
    USER_CONVERTERS,
    LocalSplit,
    convert_file,
    convert_split,
    data_files,
    dataset_key,
    detect_layout,
    layout_error,
    load_function,
    match_split,
    match_subset,
    register_converter,
    split_local_files,
)
from .records import (
    OFFICIAL_SCHEMAS,
    ConvertContext,
    Layout,
    Probe,
    Schema,
    check_utf8,
    official_schema,
    probe,
    read_records,
    type_problem,
    validate_docs,
)

__all__ = [
    "Schema",
    "OFFICIAL_SCHEMAS",
    "Layout",
    "LAYOUTS",
    "LocalSplit",
    "ConvertContext",
    "Probe",
    "USER_CONVERTERS",
    "OFFICIAL_LAYOUT",
    "dataset_key",
    "official_schema",
    "read_records",
    "probe",
    "layouts_for",
    "register_converter",
    "load_function",
    "match_split",
    "match_subset",
    "data_files",
    "detect_layout",
    "convert_file",
    "convert_split",
    "split_local_files",
    "validate_docs",
    "type_problem",
    "layout_error",
    "check_utf8",
    "FLAT_CHOICES",
    "flat_choice_columns",
]
