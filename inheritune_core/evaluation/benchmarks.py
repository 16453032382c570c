"""Per-benchmark conversions: mosaicml/llm-foundry's local ICL files and the benchmarks' own releases (PIQA,
BoolQ, SuperGLUE, LogiQA, MMLU, GLUE, TruthfulQA, WSC, WikiText), and `LAYOUTS`, the table of every layout the
package recognises (with the flattened multiple-choice ones of `evaluation.flattened`). Each converter names
the source it follows; see `evaluation.converters` for the overview.
"""

from __future__ import annotations

import csv
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DataError
from .flattened import FLAT_CHOICES, _flat_matches, _flat_multiple_choice
from .records import OFFICIAL_SCHEMAS, ConvertContext, Layout, Probe, _cached_records, _has, _tokens

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
