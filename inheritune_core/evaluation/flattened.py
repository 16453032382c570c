"""Flattened multiple-choice layouts: the choices of a question spread over columns (`choice0..N`, `A..D`,
`option_a..`) with the gold as an index or a letter, the shape a CSV export of a Hugging Face dataset takes
(issue 20, item 8). One layout per multiple-choice dataset whose choices are a list or a pair of fields.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from .records import INTEGER, ConvertContext, Probe, _cached_records, official_schema

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
