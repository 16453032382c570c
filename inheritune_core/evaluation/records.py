"""Local benchmark files, read: official schemas with their field types, readers for JSONL / JSON / CSV / TSV /
Parquet, the probe a layout detector sees, the UTF-8 check, the per-document validation, and the two types
every converter shares (`ConvertContext`, `Layout`). The package's layouts are in `evaluation.benchmarks`
and `evaluation.flattened`; detecting and converting a file is `evaluation.layouts`; `evaluation.converters`
re-exports all of it (its docstring lists the layouts).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError

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


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", name.lower()) if t]


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
