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
  `MNLI/dev_matched.tsv`), TruthfulQA (`mc_task.json`), WSC (`WSCollection.xml`) and WikiText (`wiki.test.raw`).

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

import csv
import importlib
import inspect
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError, EvaluationError

# ---------------------------------------------------------------------------------------- official schemas


@dataclass(frozen=True)
class Schema:
    """The fields of an official Hugging Face dataset and how its gold answer is stored.

    fields: every field the dataset has; optional: those lm-eval's templates do not read (a copy may lack them);
    check: doc -> None if the gold answer is valid, else a short reason (label out of range...);
    subset_field: the field naming a document's subset when one file holds all of a group's subsets;
    types: field -> TEXT / TEXTS / INTEGER / OBJECT for the fields `check` does not look at. Every document is
    checked (`validate_docs`): a null or a list where the prompt expects text renders as "None" or "['a']"
    and is scored without a word (issue 20, item 5). An optional field may be null.
    """

    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    subset_field: str | None = None
    types: Mapping[str, str] = field(default_factory=dict)

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.fields) - frozenset(self.optional)


TEXT, TEXTS, INTEGER, OBJECT = "text", "a list of texts", "an integer", "an object"


def _describe(value: Any) -> str:
    """A value's kind in an error message: null, a list, an integer, text..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return f"a list ({value!r:.40})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    return f"a {type(value).__name__} ({value!r:.40})"


def _is_kind(value: Any, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == TEXTS:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, Mapping)


def type_problem(schema: Schema, doc: Mapping[str, Any]) -> str | None:
    """The first field of `doc` whose value is not of its schema type ("field 'question' is null, not text")."""
    for name, kind in schema.types.items():
        if name not in doc or (doc[name] is None and name in schema.optional):
            continue
        if not _is_kind(doc[name], kind):
            value = doc[name]
            inner = (
                f" (an item is {_describe(next(v for v in value if not isinstance(v, str)))})"
                if kind == TEXTS and isinstance(value, (list, tuple))
                else ""
            )
            return f"field {name!r} is {_describe(value)}{inner}, not {kind}"
    return None


def _text(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, TEXT)


def _label_in(field_name: str, allowed: Sequence[Any]) -> Callable[[Mapping[str, Any]], str | None]:
    def check(doc: Mapping[str, Any]) -> str | None:
        value = doc.get(field_name)
        # bool is an int in Python (True == 1): a true/false label is a different layout, not label 1.
        if isinstance(value, bool) or value not in allowed:
            return f"{field_name}={value!r} is not one of {list(allowed)}"
        return None

    return check


def _mmlu_check(doc: Mapping[str, Any]) -> str | None:
    if not isinstance(doc.get("choices"), list) or len(doc["choices"]) != 4:
        return f"choices={doc.get('choices')!r} is not a list of 4 answers"
    return _label_in("answer", (0, 1, 2, 3))(doc)


def _arc_check(doc: Mapping[str, Any]) -> str | None:
    labels = (doc.get("choices") or {}).get("label") if isinstance(doc.get("choices"), Mapping) else None
    if not labels or doc.get("answerKey") not in labels:
        return f"answerKey={doc.get('answerKey')!r} is not one of the choice labels {labels!r}"
    return None


def _truthfulqa_check(doc: Mapping[str, Any]) -> str | None:
    for key in ("mc1_targets", "mc2_targets"):
        targets = doc.get(key)
        if not isinstance(targets, Mapping) or len(targets.get("choices") or []) != len(
            targets.get("labels") or []
        ):
            return f"{key} does not hold as many labels as choices"
        if not set(targets["labels"]) <= {0, 1} or 1 not in targets["labels"]:
            return f"{key}.labels={targets['labels']!r} must be 0/1 with at least one 1"
    return None


# Official dataset (the last part of lm-eval's dataset_path, ":dataset_name" where one path holds several
# datasets) -> its schema. From the datasets' loading scripts and cards on the Hub.
OFFICIAL_SCHEMAS: dict[str, Schema] = {
    "ai2_arc": Schema(
        ("id", "question", "choices", "answerKey"), ("id",), _arc_check, types=_text("id", "question")
    ),
    "piqa": Schema(
        ("goal", "sol1", "sol2", "label"), (), _label_in("label", (0, 1)), types=_text("goal", "sol1", "sol2")
    ),
    "super_glue:boolq": Schema(
        ("question", "passage", "idx", "label"),
        ("idx",),
        _label_in("label", (0, 1)),
        types={**_text("question", "passage"), "idx": INTEGER},
    ),
    "winogrande": Schema(
        ("sentence", "option1", "option2", "answer"),
        (),
        _label_in("answer", ("1", "2")),
        types=_text("sentence", "option1", "option2"),
    ),
    "winograd_wsc": Schema(
        ("text", "pronoun", "pronoun_loc", "quote", "quote_loc", "options", "label", "source"),
        ("quote", "quote_loc", "source"),
        _label_in("label", (0, 1)),
        types={
            **_text("text", "pronoun", "quote", "source"),
            "pronoun_loc": INTEGER,
            "quote_loc": INTEGER,
            "options": TEXTS,
        },
    ),
    "logiqa": Schema(
        ("label", "context", "question", "options"),
        (),
        _label_in("label", ("a", "b", "c", "d")),
        types={**_text("context", "question"), "options": TEXTS},
    ),
    "mmlu": Schema(
        ("question", "subject", "choices", "answer"),
        ("subject",),
        _mmlu_check,
        subset_field="subject",
        types={**_text("question", "subject"), "choices": TEXTS},
    ),
    **{
        f"glue:{name}": Schema(
            (*texts, "label", "idx"),
            ("idx",),
            _label_in("label", labels),
            types={**_text(*texts), "idx": INTEGER},
        )
        for name, texts, labels in (
            ("wnli", ("sentence1", "sentence2"), (0, 1)),
            ("rte", ("sentence1", "sentence2"), (0, 1)),
            ("qnli", ("question", "sentence"), (0, 1)),
            ("mnli", ("premise", "hypothesis"), (0, 1, 2)),
        )
    },
    "truthful_qa:multiple_choice": Schema(
        ("question", "mc1_targets", "mc2_targets"), (), _truthfulqa_check, types=_text("question")
    ),
    "lambada_openai": Schema(("text",), types=_text("text")),
    "wikitext_document_level": Schema(("page",), types=_text("page")),
    "sciq": Schema(
        ("question", "distractor1", "distractor2", "distractor3", "correct_answer", "support"),
        types=_text("question", "distractor1", "distractor2", "distractor3", "correct_answer", "support"),
    ),
}


def dataset_key(dataset_path: str | None, dataset_name: str | None = None) -> str:
    """The key of an official dataset: the last part of its Hub path, plus ":name" when that names a dataset
    (glue:wnli) rather than a subset of one (mmlu's subjects, winogrande's sizes share one schema)."""
    base = (dataset_path or "").rstrip("/").rsplit("/", 1)[-1]
    if dataset_name and f"{base}:{dataset_name}" in _KNOWN_KEYS:
        return f"{base}:{dataset_name}"
    return base


def official_schema(key: str) -> Schema | None:
    return OFFICIAL_SCHEMAS.get(key)


# ------------------------------------------------------------------------------------------- reading files

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt", ".raw", ".tokens", ".xml")
RECORD_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
COMPANION_SUFFIXES = (".lst",)  # PIQA's label files: read with their questions, never on their own


def read_records(path: Path) -> list[dict]:
    """The records of a JSONL / JSON / CSV / TSV (with header) / Parquet file, as plain dicts."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path)
    if suffix == ".json":
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if e.msg == "Extra data":  # JSON lines under a .json name (common on the Hub)
                return _read_jsonl(path)
            raise DataError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})") from None
        if isinstance(data, Mapping):  # {"data": [...]} / {"rows": [...]}: the one list of records inside
            lists = [
                v
                for v in data.values()
                if isinstance(v, list) and v and all(isinstance(r, Mapping) for r in v)
            ]
            if len(lists) != 1:
                raise DataError(f"{path} holds a JSON object, not a list of documents")
            data = lists[0]
        if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
            raise DataError(f"{path} is not a list of JSON objects")
        return [dict(r) for r in data]
    if suffix in (".csv", ".tsv"):
        # pandas infers the column types as the Hub's csv builder does (a 0/1 label column is read as integers)
        import pandas as pd

        kwargs = {"sep": "\t", "quoting": csv.QUOTE_NONE} if suffix == ".tsv" else {}
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise DataError(
                f"{path} is not a readable {suffix[1:].upper()} file ({str(e).splitlines()[0]})"
            ) from None
        return [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in frame.to_dict("records")
        ]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise DataError(f"{path}: cannot read records from a {suffix or 'suffix-less'} file")


def _read_jsonl(path: Path) -> list[dict]:
    docs = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{line_no} is not valid JSON ({e.msg})") from None
                if not isinstance(doc, dict):
                    raise DataError(f"{path}:{line_no} is not a JSON object")
                docs.append(doc)
    return docs


@dataclass(frozen=True)
class Probe:
    """What a layout detector sees of a file: its fields and first record, or the start of its text."""

    path: Path
    fields: frozenset[str] = frozenset()
    first: Mapping[str, Any] | None = None
    first_row: tuple[str, ...] = ()  # CSV: the first line's cells (the header, or a headerless first record)
    head: str = ""  # text files: the first 8 KB


def probe(path: Path) -> Probe:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            quoting = csv.QUOTE_NONE if suffix == ".tsv" else csv.QUOTE_MINIMAL
            reader = csv.reader(f, delimiter="\t" if suffix == ".tsv" else ",", quoting=quoting)
            rows = [row for _, row in zip(range(2), reader)]
        if not rows:
            return Probe(path)
        header = tuple(rows[0])
        first = dict(zip(header, rows[1])) if len(rows) > 1 else None
        return Probe(path, frozenset(header), first, header)
    if suffix in RECORD_SUFFIXES:
        records = _cached_records(path)
        return Probe(path, frozenset(records[0]) if records else frozenset(), records[0] if records else None)
    with path.open(encoding="utf-8", errors="replace") as f:
        return Probe(path, head=f.read(8192))


@lru_cache(maxsize=8)
def _cached_records_key(path: str, mtime_ns: int, size: int) -> tuple[dict, ...]:
    return tuple(read_records(Path(path)))


def _cached_records(path: Path) -> list[dict]:
    """read_records, memoised on (path, mtime, size): a file holding all of MMLU's subjects is read once, not 57 times."""
    st = path.stat()
    return [dict(r) for r in _cached_records_key(str(path), st.st_mtime_ns, st.st_size)]


# ------------------------------------------------------------------------------------------------ layouts


@dataclass(frozen=True)
class ConvertContext:
    """What a converter knows besides the file: the task, its official dataset, the split and subset."""

    task: str
    dataset: str  # dataset_key of the official dataset
    dataset_name: str | None = None
    split: str | None = None
    subset: str | None = None


@dataclass(frozen=True)
class Layout:
    """A file layout that converts to the official documents of some datasets.

    matches: Probe -> bool, decided on the content; convert: (path, context) -> documents in the official schema;
    source: who ships files in this layout; exact: False when the layout lost something the official prompt has
    (the note says what), so scores are close to, not identical with, lm-eval's on the official data.
    """

    name: str
    datasets: tuple[str, ...]
    matches: Callable[[Probe], bool]
    convert: Callable[[Path, ConvertContext], list[dict]]
    source: str
    exact: bool = True
    note: str = ""


def _has(probe_: Probe, *names: str) -> bool:
    return set(names) <= probe_.fields


# -- mosaicml/llm-foundry local ICL files: {query, choices, gold}


def _mc_rows(path: Path) -> list[dict]:
    rows = _cached_records(path)
    for i, r in enumerate(rows):
        if (
            not isinstance(r.get("choices"), list)
            or not isinstance(r.get("gold"), int)
            or isinstance(r["gold"], bool)
        ):
            raise DataError(f"{path}: record {i}: needs a list `choices` and an integer `gold`")
        if not 0 <= r["gold"] < len(r["choices"]):
            raise DataError(
                f"{path}: record {i}: gold={r['gold']} is out of range for {len(r['choices'])} choices"
            )
    return rows


def _after(text: str, prefix: str, path: Path, i: int, what: str) -> str:
    if not text.startswith(prefix):
        raise DataError(f"{path}: record {i}: {what} does not start with {prefix!r}: {text[:60]!r}")
    return text[len(prefix) :]


def _lettered_options(block: str, path: Path, i: int, n: int | None = None) -> list[str]:
    """ "A. first\\nB. second\\n..." -> ["first", "second", ...] (an option may continue over several lines)."""
    options: list[str] = []
    expected = "A"
    for line in block.split("\n"):
        if line.startswith(f"{expected}. "):
            options.append(line[3:])
            expected = chr(ord(expected) + 1)
        elif options:
            options[-1] += "\n" + line
        else:
            raise DataError(f"{path}: record {i}: the choices do not start with 'A. ': {block[:60]!r}")
    if n is not None and len(options) != n:
        raise DataError(
            f"{path}: record {i}: found {len(options)} lettered choices in the query, expected {n}"
        )
    return options


def _llmfoundry_arc(path: Path, ctx: ConvertContext) -> list[dict]:
    # The question ids and choice labels are not in this layout: ids become "local-<row>" and labels A, B, C...
    # Neither is part of the prompt or the target, so what lm-eval scores is unchanged.
    out = []
    for i, r in enumerate(_mc_rows(path)):
        labels = [chr(ord("A") + k) for k in range(len(r["choices"]))]
        out.append(
            {
                "id": f"local-{i}",
                "question": _after(r["query"], "Question: ", path, i, "query"),
                "choices": {"text": list(r["choices"]), "label": labels},
                "answerKey": labels[r["gold"]],
            }
        )
    return out


def _llmfoundry_piqa(path: Path, ctx: ConvertContext) -> list[dict]:
    out = []
    for i, r in enumerate(_mc_rows(path)):  # query "Question: {goal}\n"
        goal = _after(r["query"], "Question: ", path, i, "query")
        if len(r["choices"]) != 2:
            raise DataError(f"{path}: record {i}: PIQA has 2 solutions, this record {len(r['choices'])}")
        out.append(
            {
                "goal": goal[:-1] if goal.endswith("\n") else goal,
                "sol1": r["choices"][0],
                "sol2": r["choices"][1],
                "label": r["gold"],
            }
        )
    return out


def _llmfoundry_boolq(path: Path, ctx: ConvertContext) -> list[dict]:
    out = []
    for i, r in enumerate(_mc_rows(path)):  # query "Passage: {passage}\nQuestion: {question}?"
        body = _after(r["query"], "Passage: ", path, i, "query")
        passage, sep, question = body.rpartition("\nQuestion: ")
        if not sep:
            raise DataError(f"{path}: record {i}: no '\\nQuestion: ' in the BoolQ query")
        answers = [str(c).strip().lower() for c in r["choices"]]
        if sorted(answers) != ["no", "yes"]:
            raise DataError(f"{path}: record {i}: BoolQ choices must be no/yes, got {r['choices']!r}")
        out.append(
            {
                "question": question[:-1] if question.endswith("?") else question,
                "passage": passage,
                "idx": i,
                "label": ["no", "yes"].index(answers[r["gold"]]),
            }
        )
    return out


def _llmfoundry_logiqa(path: Path, ctx: ConvertContext) -> list[dict]:
    out = []
    for i, r in enumerate(_mc_rows(path)):
        # query "Context: {context}\nQuestion: {question}\nChoices: A. {o1}\nB. {o2}\nC. {o3}\nD. {o4}\n"
        body = _after(r["query"], "Context: ", path, i, "query")
        context, sep1, rest = body.partition("\nQuestion: ")
        question, sep2, block = rest.partition("\nChoices: ")
        if not (sep1 and sep2):
            raise DataError(f"{path}: record {i}: the LogiQA query lacks '\\nQuestion: ' or '\\nChoices: '")
        options = _lettered_options(block[:-1] if block.endswith("\n") else block, path, i, len(r["choices"]))
        out.append({"label": "abcd"[r["gold"]], "context": context, "question": question, "options": options})
    return out


def _llmfoundry_mmlu(path: Path, ctx: ConvertContext) -> list[dict]:
    out = []
    for i, r in enumerate(_mc_rows(path)):
        # query "Question: {question}\nChoices\nA. {c0}\nB. {c1}\nC. {c2}\nD. {c3}"; `choices` holds the letters
        # (mmlu.jsonl) or the answers (mmlu_full_cs.jsonl); `category` is the subject.
        body = _after(r["query"], "Question: ", path, i, "query")
        question, sep, block = body.partition("\nChoices\n")
        if not sep:
            raise DataError(f"{path}: record {i}: no '\\nChoices\\n' in the MMLU query")
        letters = [chr(ord("A") + k) for k in range(len(r["choices"]))]
        choices = (
            _lettered_options(block, path, i, len(letters))
            if list(r["choices"]) == letters
            else list(r["choices"])
        )
        out.append(
            {
                "question": question,
                "subject": r.get("category", ctx.subset or ""),
                "choices": choices,
                "answer": r["gold"],
            }
        )
    return out


def _schema_rows(path: Path) -> list[tuple[str, list[str], str, int]]:
    """{context_options: [a, b], continuation, gold} -> (shared prefix, [option a, option b], continuation, gold).

    The two contexts are the sentence up to the blank with each candidate filled in; they are cut at the last
    word boundary before they differ, so the options are whole words ("the trophy" / "the suitcase").
    """
    out = []
    for i, r in enumerate(_cached_records(path)):
        contexts, gold = r.get("context_options"), r.get("gold")
        if (
            not isinstance(contexts, list)
            or len(contexts) != 2
            or not isinstance(gold, int)
            or gold not in (0, 1)
        ):
            raise DataError(f"{path}: record {i}: needs two context_options and gold 0 or 1")
        a, b = contexts
        if a == b:
            raise DataError(f"{path}: record {i}: the two context_options are identical")
        common = os.path.commonprefix([a, b])
        cut = common.rfind(" ") + 1
        out.append((a[:cut], [a[cut:], b[cut:]], str(r.get("continuation", "")), gold))
    return out


def _llmfoundry_winogrande(path: Path, ctx: ConvertContext) -> list[dict]:
    # lm-eval: choice k = sentence[:sentence.index("_")] + option k; target = sentence after "_", stripped.
    out = []
    for i, (prefix, options, continuation, gold) in enumerate(_schema_rows(path)):
        if "_" in prefix:
            raise DataError(f"{path}: record {i}: the context holds '_', WinoGrande's blank marker")
        out.append(
            {
                "sentence": f"{prefix}_ {continuation.strip()}",
                "option1": options[0],
                "option2": options[1],
                "answer": str(gold + 1),
            }
        )
    return out


def _llmfoundry_wsc(path: Path, ctx: ConvertContext) -> list[dict]:
    # lm-eval: choice k = text[:pronoun_loc] + option k; target = text[pronoun_loc + len(pronoun):], which in the
    # official data always starts with the space after the pronoun. The pronoun itself is not in this layout
    # (only the candidates filled in for it): "_" stands in for it, read by nothing lm-eval scores.
    out = []
    for prefix, options, continuation, gold in _schema_rows(path):
        out.append(
            {
                "text": f"{prefix}_ {continuation}",
                "pronoun": "_",
                "pronoun_loc": len(prefix),
                "quote": "",
                "quote_loc": 0,
                "options": options,
                "label": gold,
                "source": "llm-foundry",
            }
        )
    return out


def _llmfoundry_lambada(path: Path, ctx: ConvertContext) -> list[dict]:
    # lm-eval splits `text` at its last space: the context, then the last word as the target.
    out = []
    for i, r in enumerate(_cached_records(path)):
        context, continuation = str(r["context"]), str(r["continuation"]).strip()
        if not continuation or " " in continuation:
            raise DataError(f"{path}: record {i}: LAMBADA's target is one word, got {continuation!r}")
        out.append({"text": f"{context.rstrip(' ')} {continuation}"})
    return out


# -- the benchmarks' own releases


def _piqa_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """PIQA's release (yonatanbisk.com/piqa): `valid.jsonl` (goal, sol1, sol2) + `valid-labels.lst` (one 0/1 a line)."""
    labels_file = _piqa_labels_file(path)
    if labels_file is None:
        raise DataError(
            f"{path.with_name(path.stem + '-labels.lst')} is missing: PIQA questions without their labels"
        )
    docs = _cached_records(path)
    labels = [line.strip() for line in labels_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(labels) != len(docs):
        raise DataError(f"{labels_file} has {len(labels)} labels for {len(docs)} questions in {path}")
    bad = [(k, y) for k, y in enumerate(labels) if y not in ("0", "1")]
    if bad:
        raise DataError(f"{labels_file}:{bad[0][0] + 1}: label {bad[0][1]!r} is not 0 or 1")
    return [
        {"goal": d["goal"], "sol1": d["sol1"], "sol2": d["sol2"], "label": int(y)}
        for d, y in zip(docs, labels)
    ]


def _piqa_labels_file(path: Path) -> Path | None:
    for candidate in path.parent.iterdir():
        if candidate.name.lower() == f"{path.stem}-labels.lst".lower():
            return candidate
    return None


def _bool_label(value: Any, path: Path, i: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return int(value.strip().lower() == "true")
    raise DataError(f"{path}: record {i}: the answer {value!r} is not true/false")


def _boolq_release(path: Path, ctx: ConvertContext) -> list[dict]:
    # Google's BoolQ release {question, title, answer, passage}; SuperGLUE's copy (lm-eval's boolq) prefixes
    # every passage with its Wikipedia title: "Persian language -- Persian (/ˈpɜːrʒən/), also known ...".
    return [
        {
            "question": r["question"],
            "passage": f"{r['title']} -- {r['passage']}",
            "idx": i,
            "label": _bool_label(r["answer"], path, i),
        }
        for i, r in enumerate(_cached_records(path))
    ]


def _boolq_untitled(path: Path, ctx: ConvertContext) -> list[dict]:
    # The Hub's google/boolq {question, answer, passage}: the release without its titles.
    return [
        {
            "question": r["question"],
            "passage": r["passage"],
            "idx": i,
            "label": _bool_label(r["answer"], path, i),
        }
        for i, r in enumerate(_cached_records(path))
    ]


def _superglue_boolq_release(path: Path, ctx: ConvertContext) -> list[dict]:
    # SuperGLUE's BoolQ/val.jsonl {question, passage, idx, label: true/false}; the Hub's ClassLabel is [False, True].
    return [
        {
            "question": r["question"],
            "passage": r["passage"],
            "idx": r.get("idx", i),
            "label": _bool_label(r["label"], path, i),
        }
        for i, r in enumerate(_cached_records(path))
    ]


def _logiqa_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """LogiQA's release (lgw863/LogiQA-dataset): blocks separated by a blank line, each the answer letter, the
    context, the question and four options "A.xxx"; parsed as EleutherAI/logiqa's loading script does."""

    def normalize(text: str) -> str:
        return text.replace(".", ". ").strip()

    docs = []
    for i, block in enumerate(path.read_text(encoding="utf-8").strip().split("\n\n")):
        lines = block.split("\n")
        if len(lines) < 4:
            raise DataError(
                f"{path}: block {i + 1} has {len(lines)} lines; a LogiQA block is a letter, a context, "
                "a question and the options"
            )
        docs.append(
            {
                "label": lines[0].strip(),
                "context": normalize(lines[1]),
                "question": normalize(lines[2]),
                "options": [normalize(option[2:]) for option in lines[3:]],
            }
        )
    return docs


def _logiqa_blocks(p: Probe) -> bool:
    blocks = p.head.strip().split("\n\n")
    lines = blocks[0].split("\n") if blocks else []
    return (
        len(lines) >= 7
        and lines[0].strip().lower() in ("a", "b", "c", "d")
        and all(line[:2].upper() == f"{letter}." for line, letter in zip(lines[3:7], "ABCD"))
    )


def _mmlu_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """MMLU's release (people.eecs.berkeley.edu/~hendrycks/data.tar): data/<split>/<subject>_<split>.csv without
    header, rows question, A, B, C, D, answer letter; read as the Hub's hendrycks_test/cais/mmlu script does."""
    docs = []
    subject = ctx.subset or _subject_from_name(path)
    with path.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if len(row) != 6:
                raise DataError(
                    f"{path}: row {i + 1} has {len(row)} cells; an MMLU row is question, A, B, C, D, answer"
                )
            if row[5] not in ("A", "B", "C", "D"):
                raise DataError(f"{path}: row {i + 1}: answer {row[5]!r} is not A, B, C or D")
            docs.append(
                {"question": row[0], "subject": subject, "choices": row[1:5], "answer": "ABCD".index(row[5])}
            )
    return docs


def _subject_from_name(path: Path) -> str:
    tokens = _tokens(path.stem)
    while tokens and tokens[-1] in ("dev", "val", "test", "train"):
        tokens.pop()
    return "_".join(tokens)


def _mmlu_headerless(p: Probe) -> bool:
    return (
        p.path.suffix.lower() == ".csv"
        and len(p.first_row) == 6
        and p.first_row[5] in ("A", "B", "C", "D")
        and "question" not in p.fields
    )


# GLUE's release (dl.fbaipublicfiles.com/glue/data/<TASK>.zip): TSVs with a header, read as the Hub's glue script
# reads them (csv.DictReader, tab, QUOTE_NONE; idx = row number; string labels -> ClassLabel index).
_GLUE_TSV: dict[str, tuple[dict[str, str], tuple[str, ...], str]] = {
    "glue:wnli": (
        {"sentence1": "sentence1", "sentence2": "sentence2"},
        ("not_entailment", "entailment"),
        "label",
    ),
    "glue:rte": (
        {"sentence1": "sentence1", "sentence2": "sentence2"},
        ("entailment", "not_entailment"),
        "label",
    ),
    "glue:qnli": (
        {"question": "question", "sentence": "sentence"},
        ("entailment", "not_entailment"),
        "label",
    ),
    "glue:mnli": (
        {"premise": "sentence1", "hypothesis": "sentence2"},
        ("entailment", "neutral", "contradiction"),
        "gold_label",
    ),
}


def _glue_release(path: Path, ctx: ConvertContext) -> list[dict]:
    features, classes, label_column = _GLUE_TSV[ctx.dataset]
    docs = []
    with path.open(encoding="utf8") as f:
        for n, row in enumerate(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
            doc: dict[str, Any] = {feat: row.get(col) for feat, col in features.items()}
            doc["idx"] = n
            label = row.get(label_column)
            if label is None:
                raise DataError(
                    f"{path}: row {n + 2} has no {label_column!r} column (a test file without labels?)"
                )
            try:
                doc["label"] = classes.index(label) if label in classes else int(label)
            except ValueError:
                raise DataError(
                    f"{path}: row {n + 2}: label {label!r} is not one of {list(classes)}"
                ) from None
            if all(v is not None for v in doc.values()):  # the Hub's script drops corrupted rows the same way
                docs.append(doc)
    return docs


def _glue_tsv(p: Probe, dataset: str) -> bool:
    features, _, label_column = _GLUE_TSV[dataset]
    return p.path.suffix.lower() == ".tsv" and _has(p, *features.values(), label_column)


def _truthfulqa_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """TruthfulQA's release (sylinrl/TruthfulQA data/mc_task.json): {question, mc1_targets: {answer: 0/1}, ...}."""
    return [
        {
            "question": r["question"],
            "mc1_targets": {"choices": list(r["mc1_targets"]), "labels": list(r["mc1_targets"].values())},
            "mc2_targets": {"choices": list(r["mc2_targets"]), "labels": list(r["mc2_targets"].values())},
        }
        for r in _cached_records(path)
    ]


def _truthfulqa_dicts(p: Probe) -> bool:
    targets = (p.first or {}).get("mc2_targets")
    return isinstance(targets, Mapping) and "choices" not in targets


def _wsc_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """The Winograd Schema Challenge collection (cs.nyu.edu/~davise: WSCollection.xml), parsed as the Hub's
    winograd_wsc script does; wsc273 is its first 273 schemas."""

    def clean(text: str | None) -> str:
        return " ".join((text or "").split())

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise DataError(f"{path} is not valid XML ({e})") from None
    limit = 273 if ctx.dataset_name == "wsc273" else None
    docs = []
    for i, schema in enumerate(root):
        if limit is not None and i >= limit:
            break
        text_root, quote_root = schema.find("text"), schema.find("quote")
        if text_root is None or schema.find("answers") is None:
            raise DataError(f"{path}: schema {i + 1} lacks <text> or <answers>")
        left, right = clean(text_root.findtext("txt1", "")), clean(text_root.findtext("txt2", ""))
        qleft = clean(quote_root.findtext("quote1", "")) if quote_root is not None else ""
        qright = clean(quote_root.findtext("quote2", "")) if quote_root is not None else ""
        pronoun = clean(text_root.findtext("pron"))
        pronoun_loc = len(left) + 1 if left else 0
        docs.append(
            {
                "text": " ".join([left, pronoun, right]).strip(),
                "pronoun": pronoun,
                "pronoun_loc": pronoun_loc,
                "quote": " ".join([qleft, pronoun, qright]).strip(),
                "quote_loc": pronoun_loc - (len(qleft) + 1 if qleft else 0),
                "options": [clean(a.text) for a in schema.find("answers").findall("answer")],
                "label": int("B" in clean(schema.findtext("correctAnswer"))),
                "source": clean(schema.findtext("source")),
            }
        )
    return docs


def _wikitext_release(path: Path, ctx: ConvertContext) -> list[dict]:
    """WikiText raw text (`wiki.test.raw`) -> EleutherAI/wikitext_document_level rows {page}.

    Pages are cut at top-level headings (" = Title = ") as the document-level dataset does from the line-per-row
    Hub wikitext; each row keeps its trailing newline and rows are joined with "\\n". A copy that lacks the Hub
    version's blank rows gives pages with fewer newlines (word perplexity then differs slightly).
    """
    rows = [line + "\n" if line.strip() else "" for line in path.read_text(encoding="utf-8").splitlines()]
    pages, current = [], []
    for row in rows:
        heading = row.replace("= = =", "===").replace("= =", "==").strip()
        if heading.startswith("= ") and heading.endswith(" ="):
            page = "\n".join(current)
            if page.strip():
                pages.append({"page": page})
            current = []
        current.append(row)
    page = "\n".join(current)
    if page.strip():
        pages.append({"page": page})
    return pages


def _wikitext_raw(p: Probe) -> bool:
    return (
        p.path.suffix.lower() in (".raw", ".tokens", ".txt")
        and re.search(r"^ = [^=].* = \s*$", p.head, re.M) is not None
    )


# -- flattened multiple choice: the choices spread over columns (a CSV export of a Hub dataset)

# choice0..N / choice_1.. / option_a.. / opt_b / A..D; the number or letter says the choice's position
_FLAT_CHOICE = re.compile(
    r"^(?:(?:choices?|options?|opts?|answers?|endings?)[._ ]?(?P<num>\d+)"
    r"|(?:choices?|options?|opts?)[._ ]?(?P<letter>[a-z])|(?P<bare>[a-z]))$",
    re.I,
)
_FLAT_ANSWER = ("answer", "answerKey", "answer_key", "label", "gold", "target", "answer_idx", "answer_index")


@dataclass(frozen=True)
class FlatChoices:
    """Where a multiple-choice dataset keeps its choices and gold: n choices (None: any number, ARC's 3-5),
    and place(choices, gold index, letters) -> the official fields that hold them."""

    n: int | None
    place: Callable[[list[str], int, list[str]], dict[str, Any]]


FLAT_CHOICES: dict[str, FlatChoices] = {
    "mmlu": FlatChoices(4, lambda c, i, _: {"choices": c, "answer": i}),
    "ai2_arc": FlatChoices(
        None, lambda c, i, letters: {"choices": {"text": c, "label": letters}, "answerKey": letters[i]}
    ),
    "logiqa": FlatChoices(4, lambda c, i, _: {"options": c, "label": "abcd"[i]}),
    "winograd_wsc": FlatChoices(2, lambda c, i, _: {"options": c, "label": i}),
    "piqa": FlatChoices(2, lambda c, i, _: {"sol1": c[0], "sol2": c[1], "label": i}),
    "winogrande": FlatChoices(2, lambda c, i, _: {"option1": c[0], "option2": c[1], "answer": str(i + 1)}),
}


def flat_choice_columns(fields: Sequence[str]) -> tuple[list[str], bool] | None:
    """(choice columns in order, numbered from 1) when `fields` spread the choices over one family of columns
    numbered 0.. or 1.. or lettered a.. (at least two, none missing); None otherwise."""
    families: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for name in fields:
        m = _FLAT_CHOICE.match(name)
        if not m:
            continue
        if m["num"] is not None:
            families.setdefault((name[: m.start("num")].lower(), "num"), []).append((int(m["num"]), name))
        else:
            letter = m["letter"] or m["bare"]
            if m["bare"] and letter.lower() > "j":  # a one-letter column such as "q" or "y" is no choice
                continue
            prefix = name[:-1].lower()
            families.setdefault((prefix, "letter"), []).append((ord(letter.lower()) - ord("a"), name))
    for (_, kind), members in sorted(families.items(), key=lambda kv: -len(kv[1])):
        positions = sorted(p for p, _ in members)
        start = positions[0] if positions else 0
        if len(members) >= 2 and start in ((0, 1) if kind == "num" else (0,)):
            if positions == list(range(start, start + len(positions))):
                return [name for _, name in sorted(members)], kind == "num" and start == 1
    return None


def _flat_answer_column(fields: Sequence[str], choices: Sequence[str]) -> str | None:
    lower = {f.lower(): f for f in fields if f not in choices}
    return next((lower[a.lower()] for a in _FLAT_ANSWER if a.lower() in lower), None)


def _flat_matches(p: Probe, dataset: str) -> bool:
    schema = official_schema(dataset)
    if schema is not None and schema.required <= p.fields:
        return False  # the official schema (winogrande's option1/option2 are its own fields)
    found = flat_choice_columns(list(p.first_row or p.fields))
    return found is not None and _flat_answer_column(list(p.fields), found[0]) is not None


def _flat_index(value: Any, n: int, one_based: bool, where: str) -> int:
    """The gold's position: a letter (A.. / a..), or an index (from 0; from 1 when the choices are numbered
    from 1, as choice1..choice4 are)."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text is not None and len(text) == 1 and text.isalpha():
        index = ord(text.upper()) - ord("A")
    elif text is not None and text.lstrip("-").isdigit():
        index = int(text) - (1 if one_based else 0)
        if one_based and index < 0:
            raise DataError(
                f"{where}: answer {value!r} with choices numbered from 1: the answer is the number of the "
                "right choice column (1..), not an index from 0"
            )
    else:
        raise DataError(f"{where}: answer {value!r} is neither a choice letter (A, B, ...) nor an index")
    if not 0 <= index < n:
        raise DataError(f"{where}: answer {value!r} is out of range for {n} choices")
    return index


def _flat_records(path: Path) -> list[dict]:
    """Records with every CSV cell as text (pandas would type a column of numeric choices as numbers)."""
    if path.suffix.lower() not in (".csv", ".tsv"):
        return _cached_records(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        return [dict(r) for r in csv.DictReader(f, delimiter=delimiter)]


def _flat_multiple_choice(path: Path, ctx: ConvertContext) -> list[dict]:
    """Flattened exports of the Hub datasets (`question, choice0..choice3, answer` for MMLU; the choices of
    ARC, LogiQA, WSC, PIQA and WinoGrande the same way): the other columns are kept as the official fields."""
    spec = FLAT_CHOICES[ctx.dataset]
    rows = _flat_records(path)
    columns, one_based = flat_choice_columns(list(rows[0]) if rows else []) or ([], False)
    answer = _flat_answer_column(list(rows[0]) if rows else [], columns)
    if spec.n is not None and len(columns) != spec.n:
        raise DataError(
            f"{path}: {len(columns)} choice columns ({', '.join(columns)}); {ctx.task} has {spec.n} choices"
        )
    schema = official_schema(ctx.dataset)
    integers = [f for f, kind in (schema.types.items() if schema else ()) if kind == INTEGER]
    docs = []
    for i, row in enumerate(rows):
        where = f"{path}: row {i + 1}"
        choices = [row.get(c) for c in columns]
        if spec.n is None:  # ARC: 3 to 5 choices, the unused columns left empty
            while choices and choices[-1] in (None, ""):
                choices.pop()
        if any(c is None or isinstance(c, (list, dict)) for c in choices):
            raise DataError(f"{where}: a choice is empty or not text ({choices!r:.80})")
        choices = [c if isinstance(c, str) else str(c) for c in choices]
        gold = _flat_index(row.get(answer), len(choices), one_based, where)
        doc = {k: v for k, v in row.items() if k not in columns and k != answer}
        for name in integers:  # CSV cells are text: pronoun_loc "3" -> 3
            if isinstance(doc.get(name), str) and doc[name].strip().isdigit():
                doc[name] = int(doc[name])
        doc |= spec.place(choices, gold, [chr(ord("A") + k) for k in range(len(choices))])
        if schema is not None and schema.subset_field and not doc.get(schema.subset_field):
            doc[schema.subset_field] = ctx.subset or ctx.dataset_name or ""  # MMLU's subject: the task's
        docs.append(doc)
    return docs


_LLMFOUNDRY = "mosaicml/llm-foundry scripts/eval/local_data (and the eval bundles copied from it)"

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "llm-foundry multiple choice {query, choices, gold}",
        ("ai2_arc",),
        lambda p: _has(p, "query", "choices", "gold"),
        _llmfoundry_arc,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry multiple choice {query, choices, gold}",
        ("piqa",),
        lambda p: _has(p, "query", "choices", "gold"),
        _llmfoundry_piqa,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry yes/no reading comprehension {query: 'Passage: ...\\nQuestion: ...?', choices, gold}",
        ("super_glue:boolq",),
        lambda p: _has(p, "query", "choices", "gold"),
        _llmfoundry_boolq,
        _LLMFOUNDRY,
        exact=False,
        note="the passages lack the Wikipedia title SuperGLUE prefixes to each ('Title -- ')",
    ),
    Layout(
        "llm-foundry multiple choice {query: 'Context: ...\\nQuestion: ...\\nChoices: ...', choices, gold}",
        ("logiqa",),
        lambda p: _has(p, "query", "choices", "gold"),
        _llmfoundry_logiqa,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry multiple choice {query: 'Question: ...\\nChoices\\nA. ...', choices, gold, category}",
        ("mmlu",),
        lambda p: _has(p, "query", "choices", "gold"),
        _llmfoundry_mmlu,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry Winograd schema {context_options, continuation, gold}",
        ("winogrande",),
        lambda p: _has(p, "context_options", "continuation", "gold"),
        _llmfoundry_winogrande,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry Winograd schema {context_options, continuation, gold}",
        ("winograd_wsc",),
        lambda p: _has(p, "context_options", "continuation", "gold"),
        _llmfoundry_wsc,
        _LLMFOUNDRY,
    ),
    Layout(
        "llm-foundry language modelling {context, continuation}",
        ("lambada_openai",),
        lambda p: _has(p, "context", "continuation") and "gold" not in p.fields,
        _llmfoundry_lambada,
        _LLMFOUNDRY,
    ),
    Layout(
        "PIQA release (valid.jsonl + valid-labels.lst)",
        ("piqa",),
        lambda p: _has(p, "goal", "sol1", "sol2") and "label" not in p.fields,
        _piqa_release,
        "yonatanbisk.com/piqa (ybisk/ybisk.github.io)",
    ),
    Layout(
        "BoolQ release {question, title, answer, passage}",
        ("super_glue:boolq",),
        lambda p: _has(p, "question", "title", "answer", "passage"),
        _boolq_release,
        "google-research-datasets/boolean-questions",
    ),
    Layout(
        "BoolQ without titles {question, answer, passage}",
        ("super_glue:boolq",),
        lambda p: _has(p, "question", "answer", "passage") and "title" not in p.fields,
        _boolq_untitled,
        "the Hub's google/boolq",
        exact=False,
        note="the passages lack the Wikipedia title SuperGLUE prefixes to each ('Title -- ')",
    ),
    Layout(
        "SuperGLUE release {question, passage, idx, label: true/false}",
        ("super_glue:boolq",),
        lambda p: (
            _has(p, "question", "passage", "label") and isinstance((p.first or {}).get("label"), (bool, str))
        ),
        _superglue_boolq_release,
        "super.gluebenchmark.com BoolQ.zip",
    ),
    Layout(
        "LogiQA release (text blocks: letter, context, question, 'A.' options)",
        ("logiqa",),
        _logiqa_blocks,
        _logiqa_release,
        "lgw863/LogiQA-dataset",
    ),
    Layout(
        "MMLU release (headerless CSV: question, A, B, C, D, answer)",
        ("mmlu",),
        _mmlu_headerless,
        _mmlu_release,
        "hendrycks/test data.tar",
    ),
    *(
        Layout(
            f"GLUE release ({key.split(':')[1].upper()} TSV)",
            (key,),
            lambda p, k=key: _glue_tsv(p, k),
            _glue_release,
            "gluebenchmark.com (dl.fbaipublicfiles.com/glue/data)",
        )
        for key in _GLUE_TSV
    ),
    Layout(
        "TruthfulQA release (mc_task.json)",
        ("truthful_qa:multiple_choice",),
        _truthfulqa_dicts,
        _truthfulqa_release,
        "sylinrl/TruthfulQA",
    ),
    Layout(
        "WSC release (WSCollection.xml)",
        ("winograd_wsc",),
        lambda p: p.path.suffix.lower() == ".xml",
        _wsc_release,
        "cs.nyu.edu/~davise/papers/WinogradSchemas",
    ),
    Layout(
        "WikiText raw text (wiki.test.raw)",
        ("wikitext_document_level",),
        _wikitext_raw,
        _wikitext_release,
        "the WikiText release (wikitext-2-raw-v1.zip)",
    ),
)

LAYOUTS += tuple(
    Layout(
        "flattened multiple choice (question, choice0..N / A..D / option_a.., answer: index or letter)",
        (key,),
        lambda p, k=key: _flat_matches(p, k),
        _flat_multiple_choice,
        "flattened exports of the Hugging Face datasets (to_csv with the choices spread over columns)",
    )
    for key in FLAT_CHOICES
)

_KNOWN_KEYS = frozenset(OFFICIAL_SCHEMAS) | frozenset(k for layout in LAYOUTS for k in layout.datasets)
OFFICIAL_LAYOUT = "official Hugging Face schema"


def layouts_for(dataset: str) -> list[Layout]:
    return [layout for layout in LAYOUTS if dataset in layout.datasets]


# ------------------------------------------------------------------------------------------ user converters

# task (or group) name -> (function, "record" | "file"); see register_converter.
USER_CONVERTERS: dict[str, tuple[Callable[..., Any], str]] = {}


def register_converter(task: str, fn: Callable[..., Any] | str, per: str | None = None) -> None:
    """Use `fn` to read local data of `task` (a task, or a group: then for each of its subtasks).

    fn: a function, or "module:function". per: "record" (fn maps each record, a dict, to an official document,
    or None to drop it) or "file" (fn reads a whole file: path -> iterable of documents); None infers it from the
    first parameter's annotation (Path / str / os.PathLike: "file", anything else: "record").
    """
    if isinstance(fn, str):
        fn = load_function(fn)
    if not callable(fn):
        raise EvaluationError(f"converter for {task!r} is not callable: {fn!r}")
    if per is None:
        per = "file" if _takes_path(fn) else "record"
    if per not in ("record", "file"):
        raise EvaluationError(f"converter for {task!r}: per must be 'record' or 'file', got {per!r}")
    USER_CONVERTERS[task] = (fn, per)


def load_function(spec: str) -> Callable[..., Any]:
    """ "package.module:function" -> the function (one clear error when it cannot be imported)."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise EvaluationError(f"a converter is given as module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise EvaluationError(f"cannot import converter module {module_name!r}: {e}") from None
    fn = getattr(module, name, None)
    if fn is None:
        raise EvaluationError(f"module {module_name!r} has no function {name!r}")
    return fn


def _takes_path(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    annotation = params[0].annotation
    names = {"Path", "pathlib.Path", "str", "os.PathLike", "PathLike", "str | Path", "Path | str"}
    return annotation in (Path, str, os.PathLike) or (isinstance(annotation, str) and annotation in names)


def _user_converter(names: Sequence[str]) -> tuple[str, Callable[..., Any], str] | None:
    for name in names:
        if name in USER_CONVERTERS:
            fn, per = USER_CONVERTERS[name]
            return name, fn, per
    return None


def _run_user_converter(path: Path, fn: Callable[..., Any], per: str, who: str) -> list[dict]:
    try:
        if per == "file":
            docs = list(fn(path))
        else:
            docs = [d for d in (fn(dict(r)) for r in _cached_records(path)) if d is not None]
    except (DataError, EvaluationError):
        raise
    except Exception as e:
        raise DataError(f"converter {who} failed on {path}: {type(e).__name__}: {e}".splitlines()[0]) from e
    if not all(isinstance(d, Mapping) for d in docs):
        raise DataError(f"converter {who} returned something other than dicts for {path}")
    return [dict(d) for d in docs]


# ---------------------------------------------------------------------------------------- split matching

_ALIASES = {
    "validation": ("validation", "valid", "val", "dev", "eval"),
    "test": ("test",),
    "train": ("train",),
}
_SHARD = re.compile(r"^\d+$|^of$")


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", name.lower()) if t]


def _name_tokens(path: Path) -> list[str]:
    """The words of a file name without its suffix and shard numbers: Test-00000-of-00002.parquet -> [test]."""
    stem = path.name
    for suffix in (".gz", ".bz2", ".zst"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix.lower() in DATA_SUFFIXES else stem
    return [t for t in _tokens(stem) if not _SHARD.match(t)]


def _contains(tokens: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(list(tokens[i : i + n]) == list(part) for i in range(len(tokens) - n + 1))


def _split_spellings(split: str) -> list[list[str]]:
    """The ways a file name may spell a split: validation_matched -> [validation matched], [dev matched], ..."""
    tokens = _tokens(split)
    spellings = [tokens]
    for i, t in enumerate(tokens):
        for alias in _ALIASES.get(t, ()):
            spellings.append(tokens[:i] + [alias] + tokens[i + 1 :])
    out: list[list[str]] = []
    for s in spellings:
        if s not in out:
            out.append(s)
    return out


def match_split(path: Path, splits: Sequence[str]) -> str | None:
    """The split (one of `splits`) a file name names, case-insensitively; an exact split name beats an alias
    (MMLU's "dev" few-shot split is not its validation), the longer spelling beats a shorter one."""
    tokens = _name_tokens(path)
    best: tuple[int, int, str] | None = None
    for split in splits:
        for rank, spelling in enumerate(_split_spellings(split)):
            if _contains(tokens, spelling):
                score = (0 if rank == 0 else 1, -len(spelling), split)
                if best is None or score < best:
                    best = score
    return best[2] if best else None


def match_subset(path: Path, root: Path, subsets: Mapping[str, Sequence[str]]) -> str | None:
    """The subset a file belongs to: a folder named after it (abstract_algebra/test.parquet) or a name that is
    the subset plus a split word (abstract_algebra_test.csv); None for a file of no one subset.

    subsets: subset -> other names it goes by on disk (its task's name, folder aliases); case, "-" and "_" aside.
    """
    lookup: dict[str, str] = {}
    for key, names in subsets.items():
        for name in (key, *names):
            lookup.setdefault("_".join(_tokens(name)), key)
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = ()
    for part in reversed(parts):
        if "_".join(_tokens(part)) in lookup:
            return lookup["_".join(_tokens(part))]
    tokens = _name_tokens(path)
    while tokens and tokens[-1] in {a for aliases in _ALIASES.values() for a in aliases}:
        tokens.pop()
    return lookup.get("_".join(tokens))


def data_files(source: Path) -> list[Path]:
    """The data files of a local source (a file, or every data file under a folder, hidden ones left out)."""
    if source.is_file():
        return [source]
    files = []
    for p in sorted(source.rglob("*")):
        rel = p.relative_to(source).parts
        if (
            p.is_file()
            and not any(part.startswith(".") for part in rel)
            and p.suffix.lower() in DATA_SUFFIXES
        ):
            files.append(p)
    return files


# ------------------------------------------------------------------------------------------- converting


@dataclass
class LocalSplit:
    """The documents of one split of a local copy, in the official schema, and where they came from."""

    split: str
    files: tuple[Path, ...]
    layout: str
    docs: list[dict] = field(repr=False)
    exact: bool = True
    note: str = ""


def detect_layout(path: Path, ctx: ConvertContext) -> Layout | None:
    """The built-in layout of `path` for ctx's dataset (None: the official schema, or an unknown layout)."""
    p = probe(path)
    for layout in layouts_for(ctx.dataset):
        if layout.matches(p):
            return layout
    return None


def convert_file(
    path: Path, ctx: ConvertContext, converter_names: Sequence[str] = ()
) -> tuple[list[dict], str, bool, str]:
    """One local file -> (official documents, layout name, exact, note). Raises DataError on a wrong layout."""
    user = _user_converter(converter_names)
    if user is not None:
        name, fn, per = user
        who = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"
        return _run_user_converter(path, fn, per, who), f"user converter {who}", True, ""
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty")
    if path.suffix.lower() != ".parquet":
        check_utf8(path)
    try:
        return _convert_builtin(path, ctx)
    except UnicodeDecodeError as e:  # a file read along with `path` (PIQA's labels)
        raise DataError(
            f"{path} (or a file read with it) is not UTF-8 text ({e.reason}); convert it"
        ) from None


def check_utf8(path: Path) -> None:
    """One line naming a local file that is not UTF-8 text (every reader here decodes UTF-8)."""
    st = path.stat()
    bad = _utf8_error(str(path), st.st_mtime_ns, st.st_size)
    if bad is not None:
        raise DataError(
            f"{path} is not UTF-8 text (byte 0x{bad[0]:02x} at offset {bad[1]}): convert it to UTF-8 (e.g. "
            "iconv -f latin1 -t utf-8), or read it with a converter of your own (--converter)"
        )


@lru_cache(maxsize=64)
def _utf8_error(path: str, mtime_ns: int, size: int) -> tuple[int, int] | None:
    """(byte, offset) of the first invalid UTF-8 byte of a file, or None; memoised like `_cached_records`."""
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return data[e.start], e.start
    return None


def _convert_builtin(path: Path, ctx: ConvertContext) -> tuple[list[dict], str, bool, str]:
    """convert_file for the package's own layouts and the official schema."""
    layout = detect_layout(path, ctx)
    if layout is not None:
        return layout.convert(path, ctx), layout.name, layout.exact, layout.note
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise DataError(layout_error(ctx, path, probe(path)))
    schema = official_schema(ctx.dataset)
    first_fields = probe(path).fields
    if schema is not None and not schema.required <= first_fields:
        raise DataError(layout_error(ctx, path, probe(path)))
    return _cached_records(path), OFFICIAL_LAYOUT, True, ""


def layout_error(ctx: ConvertContext, path: Path, p: Probe | None = None, missing: Sequence[str] = ()) -> str:
    """The one-line error for a file in a layout this task cannot read: what is missing, what the official
    dataset has, what the file has, and how to fix it."""
    p = p or probe(path)
    schema = official_schema(ctx.dataset)
    file_fields = sorted(p.fields) if p.fields else None
    missing = sorted(missing) or (sorted(schema.required - p.fields) if schema and p.fields else [])
    known = [layout.name for layout in layouts_for(ctx.dataset)]
    what = (
        f"fields {file_fields}"
        if file_fields is not None
        else (f"text starting {p.head.strip()[:40]!r}" if p.head.strip() else "no readable records")
    )
    official = (
        f"the official dataset has {list(schema.fields)}" if schema else "see the task's official dataset"
    )
    fix = (
        f"convert it to the official schema, use one of the known layouts ({'; '.join(known)}), "
        if known
        else "convert it to the official schema "
    )
    return (
        f"task {ctx.task!r}: local file {path} is not in a layout it can read: "
        f"{'missing ' + str(missing) + '; ' if missing else ''}{official}; the file has {what}; "
        f"{fix}or register a converter (register_converter({ctx.task!r}, fn) / --converter {ctx.task}=module:function)"
    )


def validate_docs(docs: Sequence[Mapping[str, Any]], ctx: ConvertContext, origin: str) -> None:
    """Every document must carry its fields with their types and a valid gold answer (label in range...): one
    clear error naming the first bad document."""
    if not docs:
        raise DataError(f"task {ctx.task!r}: {origin} holds no documents")
    schema = official_schema(ctx.dataset)
    if schema is None:
        return
    for i, doc in enumerate(docs):
        missing = sorted(f for f in schema.required if f not in doc)
        problem = (
            f"lacks {missing} (the official dataset has {list(schema.fields)}; the document has {sorted(doc)})"
            if missing
            else type_problem(schema, doc) or (schema.check(doc) if schema.check else None)
        )
        if problem:
            raise DataError(f"task {ctx.task!r}: {origin}: document {i}: {problem}")


def split_local_files(
    task: str,
    source: Path,
    splits: Sequence[str],
    eval_split: str,
    subset: str | None = None,
    subsets: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, list[Path]], list[str]]:
    """{split: files} of a local source for one task (and one subset of a group), and notes on files left out.

    Files are matched to the task's declared `splits` by name; a single unmatched file is the evaluation split.
    Several files for one split are shards (names equal but for numbers) and are read in order; otherwise the
    split is ambiguous and left out (a note; the caller fails when it needs that split).
    """
    files = [f for f in data_files(source)]
    notes: list[str] = []
    if subset is not None:
        root = source if source.is_dir() else source.parent
        own = [f for f in files if match_subset(f, root, subsets or {subset: ()}) == subset]
        shared = [f for f in files if match_subset(f, root, subsets or {subset: ()}) is None]
        files = own or shared
    by_split: dict[str, list[Path]] = {}
    unmatched = []
    for f in files:
        s = match_split(f, splits)
        if s is None:
            unmatched.append(f)
        else:
            by_split.setdefault(s, []).append(f)
    if eval_split not in by_split and len(files) == 1 and unmatched:
        by_split[eval_split] = unmatched
    out: dict[str, list[Path]] = {}
    for s, fs in by_split.items():
        names = {tuple(_tokens(f.parent.name)) + tuple(_name_tokens(f)) for f in fs}
        if len(fs) > 1 and len(names) > 1:
            notes.append(f"split {s!r} of {task!r} is ambiguous ({', '.join(f.name for f in fs)}); left out")
            continue
        out[s] = sorted(fs)
    return out, notes


def convert_split(
    files: Sequence[Path],
    ctx: ConvertContext,
    converter_names: Sequence[str] = (),
    shared: bool = False,
    validate: bool = True,
) -> LocalSplit:
    """Convert the files of one split (shards in order) and validate every document.

    For a group's subtask (ctx.subset), `shared` files hold every subset: only the documents whose subset field
    names ctx.subset are kept. A file of the subtask's own (by folder or name) is kept whole.
    """
    docs: list[dict] = []
    layouts, exact, notes = [], True, []
    for f in files:
        got, layout, is_exact, note = convert_file(f, ctx, converter_names)
        docs += got
        layouts.append(layout)
        exact = exact and is_exact
        if note and note not in notes:
            notes.append(note)
    schema = official_schema(ctx.dataset)
    if ctx.subset is not None and schema is not None and schema.subset_field:
        if shared:
            docs = [d for d in docs if d.get(schema.subset_field) == ctx.subset]
        for d in docs:  # a per-subject file may leave the subject empty: the file's folder or name says it
            if not d.get(schema.subset_field):
                d[schema.subset_field] = ctx.subset
    origin = ", ".join(str(f) for f in files) + (f" (subset {ctx.subset!r})" if ctx.subset else "")
    if not docs:
        raise DataError(f"task {ctx.task!r}: {origin} holds no documents")
    if validate:
        validate_docs(docs, ctx, origin)
    return LocalSplit(
        ctx.split or "", tuple(files), " + ".join(dict.fromkeys(layouts)), docs, exact, "; ".join(notes)
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
