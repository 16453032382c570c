"""Local benchmark copies in every layout convert to the official documents: lm-eval renders the same prompt,
choices and gold for them as for the official data; wrong layouts get one clear error. No model runs here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from evaluation_fixtures import (
    LOGIQA_RELEASE,
    MMLU_SUBJECTS,
    OFFICIAL,
    WSC_RELEASE,
    llmfoundry_rows,
    mmlu_docs,
    write_boolq_release,
    write_glue_release,
    write_jsonl,
    write_mmlu_release,
    write_parquet,
    write_piqa_release,
    write_truthfulqa_release,
)

from inheritune_core.errors import DataError, EvaluationError
from inheritune_core.evaluation import converters
from inheritune_core.evaluation.converters import match_split, match_subset, register_converter
from inheritune_core.evaluation.local import (
    USER_CONVERTERS,
    MissingData,
    define_group,
    eval_split,
    official_task_config,
    prepare_local,
    render_doc,
    write_local_task,
)


def _rendered(task: str, docs):
    cfg = official_task_config(task, resolve_functions=True)
    out = []
    for d in docs:
        r = render_doc(cfg, d)
        out.append((r["text"], r["target"], r["choices"]))
    return out


def _converted(task: str, source, shots: int = 0, split: str | None = None):
    prepared = prepare_local(task, source, shots)
    (leaf,) = prepared.leaves
    return leaf.splits[split or eval_split(official_task_config(task))], prepared


def assert_same_as_official(task: str, source, official=None, *, exact_fields=True, split=None):
    """The local copy converts to documents lm-eval renders exactly as the official ones (and, for layouts that
    keep every field, to the official documents themselves)."""
    official = OFFICIAL[task] if official is None else official
    local, prepared = _converted(task, source, split=split)
    assert len(local.docs) == len(official)
    assert _rendered(task, local.docs) == _rendered(task, official)
    if exact_fields:
        assert local.docs == official
    assert prepared.exact
    return local


# ----------------------------------------------------------------------------- the official Hub schema


def test_official_schema_in_jsonl_json_parquet_and_csv(tmp_path):
    write_jsonl(tmp_path / "jsonl" / "validation.jsonl", OFFICIAL["piqa"])
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "valid.json").write_text(json.dumps(OFFICIAL["piqa"]))
    write_parquet(tmp_path / "parquet" / "validation-00000-of-00001.parquet", OFFICIAL["piqa"])
    (tmp_path / "csv").mkdir()
    header = "goal,sol1,sol2,label\n"
    rows = "".join(f'"{d["goal"]}","{d["sol1"]}","{d["sol2"]}",{d["label"]}\n' for d in OFFICIAL["piqa"])
    (tmp_path / "csv" / "Validation.csv").write_text(header + rows)
    for layout in (
        "jsonl",
        "json",
        "parquet",
        "csv",
    ):  # CSV columns typed as the Hub's csv builder types them
        local = assert_same_as_official("piqa", tmp_path / layout)
        assert local.layout == converters.OFFICIAL_LAYOUT
    # nested fields survive Parquet (ARC's choices dict, TruthfulQA's targets) and JSON lines under .json
    write_parquet(tmp_path / "arc" / "test-00000-of-00002.parquet", OFFICIAL["arc_easy"][:1])
    write_parquet(tmp_path / "arc" / "test-00001-of-00002.parquet", OFFICIAL["arc_easy"][1:])
    write_parquet(tmp_path / "arc" / "train-00000-of-00001.parquet", OFFICIAL["arc_easy"])
    assert_same_as_official("arc_easy", tmp_path / "arc")  # two shards, read in order
    write_jsonl(tmp_path / "tqa" / "validation.json", OFFICIAL["truthfulqa_mc2"])
    assert_same_as_official("truthfulqa_mc2", tmp_path / "tqa")


def test_mmlu_hub_layouts_per_subject_folders_and_all(tmp_path):
    for subject in MMLU_SUBJECTS:
        for split in ("test", "dev"):
            write_parquet(
                tmp_path / "hub" / subject / f"{split}-00000-of-00001.parquet", mmlu_docs(subject, split)
            )
    every = [d for s in MMLU_SUBJECTS for d in mmlu_docs(s, "test")]
    write_parquet(tmp_path / "all" / "all" / "test-00000-of-00001.parquet", every)
    write_parquet(
        tmp_path / "all" / "all" / "dev-00000-of-00001.parquet",
        [d for s in MMLU_SUBJECTS for d in mmlu_docs(s, "dev")],
    )
    group = define_group("two_subjects_hub", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    for root in (tmp_path / "hub", tmp_path / "all"):
        prepared = prepare_local(group, root, 5)
        assert [leaf.task for leaf in prepared.leaves] == [f"mmlu_{s}" for s in MMLU_SUBJECTS]
        for leaf, subject in zip(prepared.leaves, MMLU_SUBJECTS):
            assert leaf.splits["test"].docs == mmlu_docs(subject, "test")
            assert leaf.splits["dev"].docs == mmlu_docs(subject, "dev")
        assert set(prepared.groups) == {group}


# -------------------------------------------------------------------- llm-foundry's local ICL files


@pytest.mark.parametrize("task", ["arc_easy", "piqa", "logiqa", "winogrande", "wsc273", "lambada_openai"])
def test_llmfoundry_layouts_convert_to_what_lm_eval_renders_officially(task, tmp_path):
    write_jsonl(tmp_path / task / f"{task}.jsonl", llmfoundry_rows(task, OFFICIAL[task]))
    local, _ = _converted(task, tmp_path / task)
    assert local.layout.startswith("llm-foundry")
    assert _rendered(task, local.docs) == _rendered(task, OFFICIAL[task])
    if task in ("piqa", "logiqa", "lambada_openai"):  # these keep every official field
        assert local.docs == OFFICIAL[task]


def test_llmfoundry_mmlu_with_category_feeds_each_subject(tmp_path):
    rows = [r for s in MMLU_SUBJECTS for r in llmfoundry_rows("mmlu", mmlu_docs(s, "test"))]
    write_jsonl(tmp_path / "mmlu.jsonl", rows)
    group = define_group("two_subjects_llmfoundry", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    prepared = prepare_local(group, tmp_path, 0)  # llm-foundry ships no dev split: 0-shot only
    for leaf, subject in zip(prepared.leaves, MMLU_SUBJECTS):
        assert leaf.splits["test"].docs == mmlu_docs(subject, "test")
        assert _rendered(leaf.task, leaf.splits["test"].docs) == _rendered(
            leaf.task, mmlu_docs(subject, "test")
        )
    with pytest.raises(MissingData, match=r"5-shot examples from split 'dev'.*lacks.*num_fewshot=0"):
        prepare_local(group, tmp_path, 5)


def test_boolq_folded_into_one_prompt_is_converted_and_flagged_inexact(tmp_path):
    write_jsonl(tmp_path / "boolq.jsonl", llmfoundry_rows("boolq", OFFICIAL["boolq"]))
    local, prepared = _converted("boolq", tmp_path / "boolq.jsonl")
    untitled = [{**d, "passage": d["passage"].split(" -- ", 1)[1]} for d in OFFICIAL["boolq"]]
    assert local.docs == untitled  # everything but the title SuperGLUE prefixes to each passage
    assert _rendered("boolq", local.docs) == _rendered("boolq", untitled)
    assert not prepared.exact and "Wikipedia title" in prepared.describe()


# --------------------------------------------------------------------------- the benchmarks' releases


def test_release_layouts_convert_to_the_official_documents(tmp_path):
    write_piqa_release(tmp_path / "piqa", OFFICIAL["piqa"])
    write_piqa_release(tmp_path / "piqa", OFFICIAL["piqa"][:1], stem="train")
    assert_same_as_official("piqa", tmp_path / "piqa")
    assert _converted("piqa", tmp_path / "piqa", split="train")[0].docs == OFFICIAL["piqa"][:1]
    write_boolq_release(tmp_path / "boolq" / "dev.jsonl", OFFICIAL["boolq"])
    assert_same_as_official("boolq", tmp_path / "boolq")
    superglue = [{**d, "label": bool(d["label"])} for d in OFFICIAL["boolq"]]
    write_jsonl(tmp_path / "superglue" / "val.jsonl", superglue)
    assert_same_as_official("boolq", tmp_path / "superglue")
    (tmp_path / "logiqa").mkdir()
    (tmp_path / "logiqa" / "Test.txt").write_text(LOGIQA_RELEASE)
    (tmp_path / "logiqa" / "Eval.txt").write_text(LOGIQA_RELEASE.replace("\nc\n", "\nb\n"))
    assert_same_as_official("logiqa", tmp_path / "logiqa")
    (tmp_path / "wsc").mkdir()
    (tmp_path / "wsc" / "WSCollection.xml").write_text(WSC_RELEASE)
    assert_same_as_official("wsc273", tmp_path / "wsc")
    write_truthfulqa_release(tmp_path / "tqa" / "mc_task.json", OFFICIAL["truthfulqa_mc2"])
    assert_same_as_official("truthfulqa_mc2", tmp_path / "tqa")
    for task in ("wnli", "qnli", "mnli"):
        write_glue_release(tmp_path / task.upper(), task, OFFICIAL[task])
        assert_same_as_official(task, tmp_path / task.upper())
    # winogrande's release (dev.jsonl with qID) is the Hub's schema plus an id: used as it is
    write_jsonl(
        tmp_path / "wg" / "dev.jsonl", [{"qID": f"q{k}", **d} for k, d in enumerate(OFFICIAL["winogrande"])]
    )
    local, _ = _converted("winogrande", tmp_path / "wg")
    assert _rendered("winogrande", local.docs) == _rendered("winogrande", OFFICIAL["winogrande"])


def test_mmlu_release_csvs_give_each_subject_its_test_and_dev_split(tmp_path):
    write_mmlu_release(tmp_path / "mmlu")
    group = define_group("two_subjects_release", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    prepared = prepare_local(group, tmp_path / "mmlu", 5)
    for leaf, subject in zip(prepared.leaves, MMLU_SUBJECTS):
        assert set(leaf.splits) == {"test", "dev"}  # val is MMLU's validation, which lm-eval does not read
        assert leaf.splits["test"].docs == mmlu_docs(subject, "test")
        assert leaf.splits["dev"].docs == mmlu_docs(subject, "dev")
        assert leaf.splits["test"].layout.startswith("MMLU release")
    # the full MMLU group needs all 57 subjects: a copy with two is one clear error naming what is missing
    with pytest.raises(MissingData, match=r"group 'mmlu'.*lacks 55 of its 57 subtasks \(mmlu_astronomy"):
        prepare_local("mmlu", tmp_path / "mmlu", 5)


# ------------------------------------------------------------------------------------- split matching


def test_split_files_match_case_insensitively_by_name():
    splits = ["train", "validation", "test"]
    for name, split in [
        ("Test.txt", "test"),
        ("test.jsonl", "test"),
        ("test-00000-of-00001.parquet", "test"),
        ("Eval.txt", "validation"),
        ("valid.jsonl", "validation"),
        ("dev.tsv", "validation"),
        ("train_xl.jsonl", "train"),
        ("wiki.test.raw", "test"),
        ("lambada_test.jsonl", "test"),
        ("arc_easy.llmfoundry.jsonl", None),
        ("mc_task.json", None),
        ("tests.jsonl", None),
    ]:
        assert match_split(Path(name), splits) == split, name
    assert match_split(Path("dev_matched.tsv"), ["train", "validation_matched"]) == "validation_matched"
    assert match_split(Path("dev_mismatched.tsv"), ["train", "validation_matched"]) is None
    # MMLU declares test and dev (its few-shot split): "dev" is dev there, not validation; val is ignored
    assert match_split(Path("anatomy_dev.csv"), ["test", "dev"]) == "dev"
    assert match_split(Path("anatomy_val.csv"), ["test", "dev"]) is None
    root = Path("/d")
    subjects = {"anatomy": (), "college_physics": (), "high_school_physics": ()}
    assert match_subset(root / "data/test/college_physics_test.csv", root, subjects) == "college_physics"
    assert (
        match_subset(root / "high_school_physics/test-00000-of-00001.parquet", root, subjects)
        == "high_school_physics"
    )
    assert match_subset(root / "all/test-00000-of-00001.parquet", root, subjects) is None
    assert match_subset(root / "ARC-Easy/test.jsonl", root, {"ARC-Easy": ("arc_easy",)}) == "ARC-Easy"
    assert (
        match_subset(root / "arc_easy/arc_easy.llmfoundry.jsonl", root, {"ARC-Easy": ("arc_easy",)})
        == "ARC-Easy"
    )


# ------------------------------------------------------------------------------------------ bad input


def test_wrong_layout_gets_one_error_naming_fields_and_fix(tmp_path):
    write_jsonl(tmp_path / "boolq" / "validation.jsonl", [{"text": "a passage", "q": "a question?", "y": 1}])
    with pytest.raises(DataError) as err:
        prepare_local("boolq", tmp_path / "boolq", 0)
    message = str(err.value)
    assert "\n" not in message
    assert "task 'boolq'" in message and "missing ['label', 'passage', 'question']" in message
    assert "the official dataset has ['question', 'passage', 'idx', 'label']" in message
    assert "the file has fields ['q', 'text', 'y']" in message
    assert (
        "llm-foundry yes/no reading comprehension" in message
        and "--converter boolq=module:function" in message
    )
    # the schema check renders through the task's own templates: a user converter giving the wrong fields
    register_converter("wnli", lambda r: {"premise": r["sentence1"], "label": r["label"]})
    try:
        write_jsonl(tmp_path / "wnli" / "validation.jsonl", OFFICIAL["wnli"])
        with pytest.raises(
            DataError,
            match=r"task 'wnli': local data .* does not fit the task's prompt: missing "
            r"field\(s\) \['sentence1', 'sentence2'\]; the official dataset has "
            r"\['sentence1', 'sentence2', 'label', 'idx'\]; the file gives "
            r"\['label', 'premise'\]; fix: ",
        ):
            prepare_local("wnli", tmp_path / "wnli", 0)
    finally:
        USER_CONVERTERS.pop("wnli", None)


def test_empty_files_and_labels_out_of_range_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "test.jsonl").write_text("")
    with pytest.raises(DataError, match=r"test.jsonl is empty"):
        prepare_local("arc_easy", tmp_path / "empty", 0)
    write_piqa_release(tmp_path / "piqa", OFFICIAL["piqa"])
    (tmp_path / "piqa" / "valid-labels.lst").write_text("1\n2\n0\n")
    with pytest.raises(DataError, match=r"valid-labels.lst:2: label '2' is not 0 or 1"):
        prepare_local("piqa", tmp_path / "piqa", 0)
    rows = llmfoundry_rows("arc_easy", OFFICIAL["arc_easy"])
    rows[1]["gold"] = 7
    write_jsonl(tmp_path / "arc" / "arc.jsonl", rows)
    with pytest.raises(DataError, match=r"record 1: gold=7 is out of range for 4 choices"):
        prepare_local("arc_easy", tmp_path / "arc", 0)
    bad = [dict(d) for d in OFFICIAL["mnli"]]
    bad[2]["label"] = 3
    write_jsonl(tmp_path / "mnli" / "validation_matched.jsonl", bad)
    with pytest.raises(DataError, match=r"task 'mnli': .*document 2: label=3 is not one of \[0, 1, 2\]"):
        prepare_local("mnli", tmp_path / "mnli", 0)
    write_glue_release(tmp_path / "QNLI", "qnli", OFFICIAL["qnli"])
    text = (tmp_path / "QNLI" / "dev.tsv").read_text().replace("not_entailment", "contradiction")
    (tmp_path / "QNLI" / "dev.tsv").write_text(text)
    with pytest.raises(DataError, match=r"dev.tsv: row 2: label 'contradiction' is not one of"):
        prepare_local("qnli", tmp_path / "QNLI", 0)


def test_user_converters_record_and_file_level(tmp_path):
    # a record converter (dict -> dict) ...
    rows = [{"q": d["goal"], "a": d["sol1"], "b": d["sol2"], "y": d["label"]} for d in OFFICIAL["piqa"]]
    write_jsonl(tmp_path / "mine" / "valid.jsonl", rows)
    fn = lambda r: {"goal": r["q"], "sol1": r["a"], "sol2": r["b"], "label": r["y"]}
    local, _ = _converted_with("piqa", tmp_path / "mine", {"piqa": fn})
    assert local.docs == OFFICIAL["piqa"] and local.layout.startswith("user converter")

    # ... and a file reader (path -> documents), given as module:function as on the command line
    module = tmp_path / "my_readers.py"
    module.write_text(
        "from pathlib import Path\nimport json\n\n"
        "def read(path: Path):\n"
        "    for line in path.read_text().splitlines():\n"
        "        q, a, b, y = line.split('|')\n"
        "        yield {'goal': q, 'sol1': a, 'sol2': b, 'label': int(y)}\n"
    )
    (tmp_path / "pipes").mkdir()
    (tmp_path / "pipes" / "valid.txt").write_text(
        "".join(f"{d['goal']}|{d['sol1']}|{d['sol2']}|{d['label']}\n" for d in OFFICIAL["piqa"])
    )
    sys.path.insert(0, str(tmp_path))
    try:
        local, _ = _converted_with("piqa", tmp_path / "pipes", {"piqa": "my_readers:read"})
        # the same from the command line: --converter task=module:function
        from inheritune_core.evaluation.harness import main

        args = [
            "tasks",
            "--tasks",
            "piqa",
            "--local",
            f"piqa={tmp_path / 'pipes'}",
            "--out",
            str(tmp_path / "y"),
        ]
        assert main([*args, "--converter", "piqa=my_readers:read"]) == 0
        assert (tmp_path / "y" / "piqa.yaml").is_file()
        assert (
            main([*args[:-1], str(tmp_path / "y2")]) == 2
        )  # without it, the pipe-separated file is unreadable
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_readers", None)
    assert local.docs == OFFICIAL["piqa"]
    assert "piqa" not in USER_CONVERTERS  # evaluate()'s converters are scoped to the call
    with pytest.raises(EvaluationError, match="cannot import converter module 'no_such_module'"):
        prepare_local("piqa", tmp_path / "pipes", 0, {"piqa": "no_such_module:read"})


def _converted_with(task, source, converters_):
    prepared = prepare_local(task, source, 0, converters_)
    (leaf,) = prepared.leaves
    return leaf.splits[eval_split(official_task_config(task))], prepared


def test_tasks_command_writes_nothing_for_a_bad_layout_and_exits_nonzero(tmp_path, capsys):
    from inheritune_core.evaluation.harness import main

    write_piqa_release(tmp_path / "data" / "piqa", OFFICIAL["piqa"])
    write_jsonl(tmp_path / "data" / "boolq" / "validation.jsonl", [{"text": "x", "y": 1}])
    out = tmp_path / "yaml"
    code = main(["tasks", "--tasks", "piqa,boolq", "--local-data", str(tmp_path / "data"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: task 'boolq': local file") and err.count("\n") == 1
    assert not out.exists()  # piqa was fine, but nothing is written when any task fails
    assert main(["tasks", "--tasks", "piqa", "--local-data", str(tmp_path / "data"), "--out", str(out)]) == 0
    written = yaml_text = (out / "piqa.yaml").read_text()
    assert "dataset_path: json" in written and "include:" in yaml_text


def test_written_group_yamls_let_lm_eval_build_the_group_offline(tmp_path):
    from lm_eval.tasks import TaskManager

    write_mmlu_release(tmp_path / "mmlu")
    group = define_group("two_subjects_yaml", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    write_local_task(group, tmp_path / "mmlu", tmp_path / "yaml", cache_dir=tmp_path / "cache")
    loaded = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False).load([group])
    assert set(loaded["tasks"]) == {f"mmlu_{s}" for s in MMLU_SUBJECTS} and set(loaded["groups"]) == {group}
    for subject in MMLU_SUBJECTS:
        task = loaded["tasks"][f"mmlu_{subject}"]
        assert [d["question"] for d in task.eval_docs] == [d["question"] for d in mmlu_docs(subject, "test")]
        assert len(list(task.fewshot_docs())) == 5
