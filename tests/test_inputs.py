"""Issue 20, input checks: files a user hands the package that it used to trust or mis-read (a token file
edited in place, a local source that is empty, binary or not UTF-8, a non-UTF-8 meta.json or evaluation file,
a document whose text is not a string, a `limit` below 1, CUDA asked for on a CPU machine), ties that the BLAS
used to break, and flattened multiple-choice layouts. Each test failed on main before its fix; tiny inputs,
temporary folders, seconds each."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_token_data

from inheritune_core.data import corpora as D
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import DataError

PROJECT = Path(__file__).resolve().parent.parent


def _edit_in_place(path: Path, index: int, value: int, keep_mtime: bool = False) -> None:
    """Overwrite one token id, keeping the file's length (and, if asked, its modification time)."""
    st = path.stat()
    ids = np.memmap(path, dtype=np.uint16, mode="r+")
    ids[index] = value
    ids.flush()
    del ids
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# ------------------------------------------------------------------------- item 2: token files edited in place


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["edited", "edited-mtime-restored"])
def test_a_token_file_edited_in_place_is_read_again_not_trusted(tmp_path, keep_mtime):
    root = make_token_data(tmp_path / "corpus")
    before = load_token_data(root)  # caches {tokens, sha256, max_id} in meta.json
    sha = before.identity()["train"]["sha256"]
    assert before.max_token_id("train") < 50257
    _edit_in_place(root / "train.bin", 1234, 50300, keep_mtime=keep_mtime)  # same length: a padding-row id
    with pytest.raises(
        DataError, match=r"train.bin holds token id 50300, outside the tokenizer's vocabulary"
    ):
        load_token_data(root)
    _edit_in_place(
        root / "train.bin", 1234, 7, keep_mtime=keep_mtime
    )  # a valid id: another corpus all the same
    after = load_token_data(root)
    assert after.identity()["train"]["sha256"] != sha
    cached = json.loads((root / "meta.json").read_text())["splits"]["train"]["content"]
    assert cached["sha256"] == after.identity()["train"]["sha256"]  # the new contents were cached


def test_resume_on_a_corpus_edited_in_place_is_refused(tmp_path, capsys):
    from test_reliability import cli_args, single_error_line

    from inheritune_core.training import trainer as T

    root = make_token_data(tmp_path / "corpus")
    out = tmp_path / "run"
    assert T.main(cli_args(root, out)) == 0
    (out / "result.json").unlink()  # an interrupted run: ckpt.pt, no result.json
    _edit_in_place(root / "train.bin", 10, 11)
    capsys.readouterr()
    err = single_error_line(capsys, T.main(cli_args(root, out, "--resume")))
    assert "was trained on another corpus: train.bin" in err


def test_non_utf8_meta_json_is_one_line_naming_the_file(tmp_path):
    root = make_token_data(tmp_path / "corpus")
    (root / "meta.json").write_bytes(b'{"name": "\xff\xfe"}')
    with pytest.raises(DataError, match=r"meta.json is corrupt \(not UTF-8 text: byte 0xff at offset 10\)"):
        load_token_data(root)


def test_non_utf8_meta_json_is_one_error_line_from_the_trainer_cli(tmp_path, capsys):
    from test_reliability import cli_args, single_error_line

    from inheritune_core.training import trainer as T

    root = make_token_data(tmp_path / "corpus")
    (root / "meta.json").write_bytes(b"\x89PNG\r\n\x1a\n")
    err = single_error_line(capsys, T.main(cli_args(root, tmp_path / "run")))
    assert f"{root / 'meta.json'} is corrupt (not UTF-8 text" in err


# ------------------------------------------------------------------------- item 6: prepare --source


def _prepare_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "inheritune_core.data", "prepare", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_source_without_a_named_corpus_is_refused_not_ignored(tmp_path):
    source = tmp_path / "mine.txt"
    source.write_text("a document\n\nanother one\n")
    proc = _prepare_cli("--source", str(source), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --source is a local copy of a named Hub corpus")
    assert f"pass it as --name {source}" in lines[0]
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError, match="--source is a local copy"):  # the API refuses it too
        D.prepare_corpus(source=source, out_dir=tmp_path / "out")


SOURCES = {
    "empty": (b"", "is empty (0 bytes)"),
    "binary": (
        b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20,
        "is a binary file, not text (a NUL byte at offset 7)",
    ),
    "latin1": (
        "caf\xe9 au lait\n\nune autre\n".encode("latin-1"),
        "is not UTF-8 text (byte 0xe9 near offset 3)",
    ),
}


@pytest.mark.parametrize("fault", list(SOURCES))
@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_a_local_source_says_whether_it_is_empty_binary_or_not_utf8(tmp_path, fault, suffix):
    data, message = SOURCES[fault]
    source = tmp_path / f"corpus{suffix}"
    source.write_bytes(data)
    for name, kw in ((str(source), {}), ("openwebtext", {"source": source})):
        with pytest.raises(DataError, match=re.escape(f"corpus{suffix} {message}")):
            D.prepare_corpus(name, tmp_path / "out", progress=False, cache_dir=tmp_path / "hf", **kw)
    assert not (tmp_path / "out" / "meta.json").exists()
    proc = _prepare_cli("--name", "openwebtext", "--source", str(source), "--out", str(tmp_path / "cli"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr


def test_a_parquet_source_that_is_not_parquet_is_named(tmp_path):
    source = tmp_path / "corpus.parquet"
    source.write_text("text\nhello\n")
    with pytest.raises(DataError, match=r"corpus.parquet is not a Parquet file"):
        D.prepare_corpus(str(source), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf")


# ------------------------------------------------------------------------- item 5 and evaluation errors


def _piqa(tmp_path: Path, docs) -> Path:
    from evaluation_fixtures import write_jsonl

    write_jsonl(tmp_path / "piqa" / "validation.jsonl", docs)
    return tmp_path / "piqa"


@pytest.mark.parametrize(
    "value, kind", [(None, "null"), (["Pour it", "into a jar"], "a list"), (7, "an integer")], ids=str
)
def test_a_document_whose_text_is_not_text_is_refused_before_scoring(tmp_path, value, kind):
    from evaluation_fixtures import OFFICIAL

    from inheritune_core.evaluation.harness import evaluate

    docs = [dict(d) for d in OFFICIAL["piqa"]]
    docs[1]["sol2"] = value  # the first document is fine: the schema check used to render only that one
    with pytest.raises(DataError, match=rf"document 1: field 'sol2' is {kind}.*, not text"):
        evaluate(tmp_path / "no-model", "piqa", local_data={"piqa": _piqa(tmp_path, docs)})


def test_choices_holding_a_null_are_refused(tmp_path):
    from evaluation_fixtures import mmlu_docs, write_jsonl

    from inheritune_core.evaluation.local import prepare_local

    docs = mmlu_docs("anatomy", "test")
    docs[0]["choices"] = [docs[0]["choices"][0], None, *docs[0]["choices"][2:]]
    write_jsonl(tmp_path / "anatomy" / "test.jsonl", docs)
    with pytest.raises(
        DataError, match=r"field 'choices' is a list .* \(an item is null\), not a list of texts"
    ):
        prepare_local("mmlu_anatomy", tmp_path / "anatomy", 0)


def test_a_null_field_of_a_task_without_a_known_schema_is_refused(tmp_path):
    from inheritune_core.evaluation.local import check_template_fields

    cfg = {"doc_to_text": "Q: {{question}}\nA:", "doc_to_target": "{{answer}}"}
    check_template_fields("t", cfg, [{"question": "q", "answer": "a"}], "f.jsonl")
    with pytest.raises(DataError, match=r"document 1: field\(s\) \['question'\] are null"):
        check_template_fields(
            "t", cfg, [{"question": "q", "answer": "a"}, {"question": None, "answer": "b"}], "f"
        )


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_non_utf8_local_evaluation_file_is_one_line_naming_it(tmp_path, suffix):
    from inheritune_core.evaluation.local import prepare_local

    folder = tmp_path / "piqa"
    folder.mkdir()
    path = folder / f"validation{suffix}"
    row = '{"goal": "caf\xe9", "sol1": "a", "sol2": "b", "label": 0}'
    text = {
        ".jsonl": row + "\n",
        ".json": f"[{row}]",
        ".csv": "goal,sol1,sol2,label\ncaf\xe9,a,b,0\n",
    }[suffix]
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as err:
        prepare_local("piqa", folder, 0)
    assert str(err.value).startswith(f"{path} is not UTF-8 text (byte 0xe9 at offset ")
    assert "\n" not in str(err.value)


def test_mmlu_release_csv_in_latin1_is_named(tmp_path):
    from inheritune_core.evaluation.local import prepare_local

    path = tmp_path / "anatomy_test.csv"
    path.write_bytes("Qu\xe9stion?,a,b,c,d,A\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"anatomy_test.csv is not UTF-8 text \(byte 0xe9 at offset 2\)"):
        prepare_local("mmlu_anatomy", path, 0)


@pytest.mark.parametrize("limit", [0, -3, 0.0, -0.5, float("nan"), True])
def test_evaluate_with_a_limit_below_one_document_says_so(tmp_path, limit):
    from evaluation_fixtures import OFFICIAL

    from inheritune_core.errors import EvaluationError
    from inheritune_core.evaluation.harness import evaluate

    source = _piqa(tmp_path, OFFICIAL["piqa"])
    with pytest.raises(EvaluationError, match=r"limit must be a positive number of documents per task"):
        evaluate(tmp_path / "no-model", "piqa", limit=limit, local_data={"piqa": source})
    with pytest.raises(EvaluationError, match=r"limit for task 'piqa' must be a positive number"):
        evaluate(tmp_path / "no-model", "piqa", limit={"piqa": limit}, local_data={"piqa": source})


def _evaluation_cli(capsys, *args: str) -> str:
    from inheritune_core.evaluation.harness import main

    code = main(["run", "--model", "no-model", "--tasks", "piqa", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_cli_limit_zero_or_negative_is_one_line(tmp_path, capsys, limit):
    from evaluation_fixtures import OFFICIAL

    source = _piqa(tmp_path, OFFICIAL["piqa"])
    err = _evaluation_cli(capsys, "--limit", limit, "--local", f"piqa={source}")
    assert "limit must be a positive number of documents per task" in err


def test_cli_device_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    import torch
    from evaluation_fixtures import OFFICIAL

    if torch.cuda.is_available():
        pytest.skip("needs a host without CUDA")
    source = _piqa(tmp_path, OFFICIAL["piqa"])
    err = _evaluation_cli(capsys, "--device", "cuda", "--local", f"piqa={source}")
    assert "device 'cuda' was asked for, but CUDA is not available" in err


# ------------------------------------------------------------------------- item 7: ties the BLAS used to break


def _angular_with_zero_blocks(noise: dict[int, float], L: int = 6):
    """Mean angular distances of an L-block model whose blocks 1 and 3 are identities: d(h_l, h_l+1) = 0 up to
    the given noise, every other block turns the state by 0.1 per block."""
    import torch

    steps = [0.0 if i in (1, 3) else 0.1 for i in range(L)]
    pos = np.concatenate([[0.0], np.cumsum(steps)])
    ang = torch.tensor(np.abs(pos[:, None] - pos[None, :]), dtype=torch.float64)
    for block, eps in noise.items():
        ang[block, block + 1] = ang[block + 1, block] = eps
    return ang


@pytest.mark.parametrize(
    "noise",
    [{1: 0.0, 3: 0.0}, {1: 1e-9, 3: 0.0}, {1: 0.0, 3: 1e-9}, {1: 3e-8, 3: 2e-9}],
    ids=["exact", "later-smaller", "earlier-smaller", "amd-like"],
)
def test_zero_distance_blocks_tie_to_the_earliest_whatever_the_noise(noise):
    from inheritune_core.analysis.layers import (
        angular_block_layers,
        angular_block_start,
        top_influence_layers,
    )

    ang = _angular_with_zero_blocks(noise)
    assert angular_block_start(ang, 1) == 1
    assert angular_block_layers(ang, 5) == [0, 2, 3, 4, 5]
    influence = [
        0.3,
        noise[1],
        0.2,
        noise[3],
        0.4,
        0.25,
    ]  # ShortGPT: the identities go first, later one first
    assert top_influence_layers(influence, 5) == [0, 1, 2, 4, 5]
    assert top_influence_layers(influence, 4) == [0, 2, 4, 5]


def test_real_differences_are_not_ties():
    from inheritune_core.analysis.layers import TIE_TOLERANCE, angular_block_start, top_influence_layers

    ang = _angular_with_zero_blocks({1: 10 * TIE_TOLERANCE, 3: 0.0})
    assert angular_block_start(ang, 1) == 3
    assert top_influence_layers([0.3, 1e-5, 0.2, 0.0, 0.4], 4) == [0, 1, 2, 4]


# ------------------------------------------------------------------------- item 8: flattened multiple choice


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def _same_prompts(task: str, source, official) -> list[dict]:
    """The flattened copy converts to documents lm-eval renders exactly as the official ones."""
    from test_evaluation_layouts import _converted, _rendered

    local, prepared = _converted(task, source)
    assert local.layout.startswith("flattened multiple choice"), local.layout
    assert _rendered(task, local.docs) == _rendered(task, official) and prepared.exact
    return local.docs


MMLU_FLAT_HEADERS = {
    "choice-index": (["question", "choice0", "choice1", "choice2", "choice3", "answer"], lambda i: i),
    "letters": (["question", "A", "B", "C", "D", "answer"], lambda i: "ABCD"[i]),
    "option-letter": (
        ["question", "option_a", "option_b", "option_c", "option_d", "answer"],
        lambda i: "abcd"[i],
    ),
    "one-based": (["question", "choice1", "choice2", "choice3", "choice4", "answer"], lambda i: i + 1),
}


@pytest.mark.parametrize("layout", list(MMLU_FLAT_HEADERS))
def test_mmlu_flattened_csv_is_recognised(tmp_path, layout):
    from evaluation_fixtures import mmlu_docs

    header, answer = MMLU_FLAT_HEADERS[layout]
    official = mmlu_docs("anatomy", "test")
    rows = [[d["question"], *d["choices"], answer(d["answer"])] for d in official]
    path = _write_csv(tmp_path / "anatomy" / "test.csv", header, rows)
    docs = _same_prompts("mmlu_anatomy", path.parent, official)
    assert docs == official  # the subject comes from the folder


def test_mmlu_flattened_csv_keeps_numeric_choices_as_text(tmp_path):
    official = [{"question": "1 + 1 = ?", "subject": "anatomy", "choices": ["0", "1", "2", "3"], "answer": 2}]
    path = _write_csv(
        tmp_path / "test.csv", ["question", "subject", "choice0", "choice1", "choice2", "choice3", "answer"],
        [["1 + 1 = ?", "anatomy", 0, 1, 2, 3, 2]],
    )  # fmt: skip
    assert _same_prompts("mmlu_anatomy", path, official) == official


def test_a_group_runs_on_per_subject_flattened_csvs(tmp_path):
    from evaluation_fixtures import MMLU_SUBJECTS, mmlu_docs

    from inheritune_core.evaluation.local import define_group, prepare_local

    header = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]
    for subject in MMLU_SUBJECTS:
        for split in ("test", "dev"):
            rows = [[d["question"], *d["choices"], d["answer"]] for d in mmlu_docs(subject, split)]
            _write_csv(tmp_path / "flat" / f"{subject}_{split}.csv", header, rows)
    group = define_group("two_subjects_flat", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    prepared = prepare_local(group, tmp_path / "flat", 5)
    for leaf, subject in zip(prepared.leaves, MMLU_SUBJECTS):
        assert leaf.splits["test"].docs == mmlu_docs(subject, "test")
        assert leaf.splits["dev"].docs == mmlu_docs(subject, "dev")


def test_flattened_layouts_of_the_other_multiple_choice_tasks(tmp_path):
    from evaluation_fixtures import OFFICIAL, write_jsonl

    arc = OFFICIAL["arc_easy"]
    rows = [
        [
            d["id"],
            d["question"],
            *d["choices"]["text"],
            *[""] * (5 - len(d["choices"]["text"])),
            d["answerKey"],
        ]
        for d in arc
    ]
    header = ["id", "question", "choiceA", "choiceB", "choiceC", "choiceD", "choiceE", "answerKey"]
    _same_prompts("arc_easy", _write_csv(tmp_path / "arc" / "test.csv", header, rows), arc)

    logiqa = OFFICIAL["logiqa"]
    flat = [
        {"context": d["context"], "question": d["question"], **{f"option_{c}": o for c, o in zip("abcd", d["options"])},
         "label": "abcd".index(d["label"])}
        for d in logiqa
    ]  # fmt: skip
    assert _same_prompts("logiqa", write_jsonl(tmp_path / "logiqa" / "test.jsonl", flat), logiqa) == logiqa

    wsc = OFFICIAL["wsc273"]
    header = ["text", "pronoun", "pronoun_loc", "quote", "quote_loc", "option0", "option1", "label", "source"]
    rows = [[d[k] for k in header[:5]] + d["options"] + [d["label"], d["source"]] for d in wsc]
    assert _same_prompts("wsc273", _write_csv(tmp_path / "wsc" / "test.csv", header, rows), wsc) == wsc

    piqa = OFFICIAL["piqa"]
    rows = [[d["goal"], d["sol1"], d["sol2"], "AB"[d["label"]]] for d in piqa]
    path = _write_csv(tmp_path / "piqa" / "validation.csv", ["goal", "A", "B", "answer"], rows)
    assert _same_prompts("piqa", path, piqa) == piqa

    wino = OFFICIAL["winogrande"]
    rows = [[d["sentence"], d["option1"], d["option2"], int(d["answer"]) - 1] for d in wino]
    path = _write_csv(tmp_path / "wino" / "validation.csv", ["sentence", "choice0", "choice1", "label"], rows)
    assert _same_prompts("winogrande", path, wino) == wino


@pytest.mark.parametrize(
    "header, answer, match",
    [
        (
            ["question", "choice0", "choice1", "choice2", "choice3", "answer"],
            "4",
            r"answer '4' is out of range for 4",
        ),
        (
            ["question", "choice0", "choice1", "choice2", "choice3", "answer"],
            "E",
            r"answer 'E' is out of range",
        ),
        (
            ["question", "choice0", "choice1", "choice2", "choice3", "answer"],
            "maybe",
            r"neither a choice letter",
        ),
        (["question", "choice1", "choice2", "choice3", "choice4", "answer"], "0", r"numbered from 1"),
        (
            ["question", "choice0", "choice1", "choice2", "answer"],
            "0",
            r"3 choice columns .* mmlu_anatomy has 4",
        ),
    ],
)
def test_flattened_answers_that_do_not_fit_are_one_clear_error(tmp_path, header, answer, match):
    from inheritune_core.evaluation.local import prepare_local

    n = len(header) - 2
    path = _write_csv(tmp_path / "test.csv", header, [["q?", *[f"c{k}" for k in range(n)], answer]])
    with pytest.raises(DataError, match=match):
        prepare_local("mmlu_anatomy", path, 0)


def test_choice_column_families():
    from inheritune_core.evaluation.converters import flat_choice_columns

    assert flat_choice_columns(["question", "choice0", "choice1", "answer"]) == (
        ["choice0", "choice1"],
        False,
    )
    assert flat_choice_columns(["q", "choice_2", "choice_1"]) == (["choice_1", "choice_2"], True)
    assert flat_choice_columns(["q", "B", "A", "C"]) == (["A", "B", "C"], False)
    assert flat_choice_columns(["q", "choice0", "choice2"]) is None  # a gap
    assert flat_choice_columns(["sentence1", "sentence2", "label"]) is None
    assert flat_choice_columns(["question", "subject", "choices", "answer"]) is None  # the official MMLU


# ------------------------------------------------------------------------- issue 19 item 4: files by concern


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph and state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt in graph and nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    return next((c for node in sorted(graph) if node not in state and (c := visit(node))), None)


@pytest.mark.parametrize("room", ["analysis", "data", "evaluation"])
def test_no_import_cycle_even_through_imports_inside_functions(room):
    # test_architecture checks module-level imports; analysis.attention and analysis.degeneration imported
    # each other inside functions (issue 19, item 4)
    from test_architecture import _imports, _module_name, _sources

    graph = {
        _module_name(p): {t for t, _ in _imports(p, top_level_only=False)}
        for p in _sources()
        if _module_name(p).startswith(room + ".")
    }
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the check can fail


@pytest.mark.parametrize(
    "module", ["inheritune_core.evaluation.converters", "inheritune_core.data.corpora"], ids=lambda m: m
)
def test_split_modules_keep_every_public_name_importable_from_where_it_was(module):
    import importlib

    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, missing


def test_no_module_of_these_rooms_is_over_800_lines():
    rooms = [PROJECT / "inheritune_core" / room for room in ("data", "evaluation", "analysis")]
    sizes = {p.name: len(p.read_text().splitlines()) for room in rooms for p in room.glob("*.py")}
    assert max(sizes.values()) <= 800, {k: v for k, v in sizes.items() if v > 800}  # issue 19: aim 700


# ------------------------------------------------------------------------- issue 21 items 6-7: help, plan figure


def _parsers(parser):
    """A parser and every subcommand's parser under it."""
    import argparse

    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


@pytest.mark.parametrize(
    "module", ["data.corpora", "evaluation.harness", "analysis.plan"], ids=["data", "evaluation", "plan"]
)
def test_every_option_has_help_and_shows_its_default(module):
    import argparse
    import importlib

    from inheritune_core.data.cli_format import option_help

    parser = importlib.import_module(f"inheritune_core.{module}").build_parser()
    seen = 0
    for prog, p in _parsers(parser):
        assert p.description, f"{prog} has no description"
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = f"{prog} {'/'.join(action.option_strings) or action.dest}"
            text = option_help(action)
            assert text.strip(), f"{name} has no help text"
            flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
            if not flag and not action.required:
                assert "default" in text, f"{name} does not show its default: {text!r}"
            seen += 1
        assert "(default: %(default)s)" not in p.format_help()  # filled in
    assert seen >= 8


def test_help_shows_a_value_default_and_leaves_none_unsaid():
    import argparse

    from inheritune_core.data.cli_format import HelpFormatter, option_help

    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    seed = parser.add_argument("--seed", type=int, default=7, help="the seed")
    out = parser.add_argument("--out", default=None, help="where (default: print)")
    assert option_help(seed) == "the seed (default: 7)" and option_help(out) == "where (default: print)"
    assert "the seed (default: 7)" in " ".join(parser.format_help().split())


def test_prepare_takes_token_counts_in_scientific_notation():
    from inheritune_core.data.corpora import build_parser

    args = build_parser().parse_args(["prepare", "--max-tokens", "1e9", "--shard-tokens", "100_000_000"])
    assert (args.max_tokens, args.shard_tokens) == (1_000_000_000, 100_000_000)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["prepare", "--max-tokens", "1.5"])


def test_plan_draws_its_figure_beside_the_committed_ones_not_into_results(tmp_path, monkeypatch):
    import shutil

    from inheritune_core.analysis import plan as P

    results, paper = tmp_path / "results", tmp_path / "paper"
    monkeypatch.setenv("INHERITUNE_RESULTS_DIR", str(results))
    monkeypatch.setenv("INHERITUNE_PAPER_DIR", str(paper))
    out = P.default_out_dir("smollm2-135m")
    out.mkdir(parents=True)
    shutil.copy(PROJECT / "results" / "plan" / "smollm2-135m" / "plan.csv", out / "plan.csv")
    paths = P.render_figure(out)
    assert paths == [paper / "figures" / "plan_smollm2-135m.png", paper / "figures" / "plan_smollm2-135m.pdf"]
    assert all(p.is_file() for p in paths)
    assert sorted(p.name for p in results.rglob("*") if p.is_file()) == ["plan.csv"]  # nothing untracked
    own = tmp_path / "mine"  # a folder of the user's own: the figure goes beside the CSV
    shutil.copytree(out, own)
    assert P.render_figure(own) == [own / "plan.png", own / "plan.pdf"] and (own / "plan.png").is_file()
