"""lm-eval on exported models, offline: local task definitions, Table 5 from a folder of copies, an MMLU-style
group 5-shot from local CSVs, document sampling, and the shared evaluation data (when present)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from evaluation_fixtures import MMLU_SUBJECTS, OFFICIAL, mmlu_docs, write_mmlu_release, write_table5_folder

from inheritune_core.errors import DataError, EvaluationError
from inheritune_core.evaluation import harness
from inheritune_core.evaluation.harness import RESULT_COLUMNS, evaluate, select_documents
from inheritune_core.evaluation.local import (
    MissingData,
    define_group,
    find_task_yaml,
    local_task_config,
    official_task_config,
    render_doc,
    resolve_local_sources,
    write_local_task,
    yaml_index,
)
from inheritune_core.evaluation.tasks import SHARED_EVALDATA_FOLDERS, TABLE1_TASKS, TABLE4_TASKS, TABLE5_TASKS

LIMIT = 5


# ----------------------------------------------------------------------------------------------- units


def test_paper_task_names_are_lm_eval_tasks():
    known = yaml_index().names
    assert set(TABLE1_TASKS) | set(TABLE4_TASKS) | set(TABLE5_TASKS) <= known


def test_unknown_task_gets_one_clear_error(tmp_path):
    with pytest.raises(EvaluationError, match="unknown lm-eval task 'piqaa'.*piqa"):
        find_task_yaml("piqaa")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EvaluationError, match="unknown lm-eval task 'no_such_task'"):
        evaluate(tmp_path, ["no_such_task"], data_dir=False)
    with pytest.raises(EvaluationError, match="sample must be one of"):
        evaluate(tmp_path, ["piqa"], data_dir=False, sample="last")


def test_missing_local_data_gets_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="local data for task 'piqa' not found"):
        local_task_config("piqa", tmp_path / "nowhere", cache_dir=tmp_path)
    with pytest.raises(DataError, match="split 'validation' not found"):
        local_task_config("piqa", {"validation": tmp_path / "missing.jsonl"}, cache_dir=tmp_path)
    (tmp_path / "piqa").mkdir()
    (tmp_path / "piqa" / "valid.jsonl").write_text(json.dumps({"goal": "g", "sol1": "a", "sol2": "b"}) + "\n")
    (tmp_path / "piqa" / "valid-labels.lst").write_text("0\n1\n")
    with pytest.raises(DataError, match="2 labels for 1 questions"):
        local_task_config("piqa", tmp_path / "piqa", cache_dir=tmp_path)
    with pytest.raises(EvaluationError, match="not requested"):
        resolve_local_sources(["piqa"], data_dir=False, local_data={"arc_easy": tmp_path})


def test_a_file_in_the_official_schema_runs_any_task(tmp_path):
    # The general mechanism: a file in the official schema replaces the download, for any task.
    doc = {
        "question": "Q?",
        "distractor1": "a",
        "distractor2": "b",
        "distractor3": "c",
        "correct_answer": "d",
        "support": "S.",
    }
    (tmp_path / "sciq.jsonl").write_text(json.dumps(doc) + "\n")
    cfg = local_task_config("sciq", tmp_path / "sciq.jsonl", cache_dir=tmp_path / "cache")
    official = official_task_config("sciq")
    assert cfg["include"] == str(find_task_yaml("sciq")) and cfg["dataset_path"] == "json"
    ((split, data_file),) = cfg["dataset_kwargs"]["data_files"].items()
    assert split == official["test_split"] and [json.loads(line) for line in open(data_file)] == [doc]
    assert cfg["training_split"] is None and cfg["validation_split"] is None  # absent locally
    # a folder with files named after the splits works the same way
    (tmp_path / "d").mkdir()
    for name in ("train", "Test"):
        (tmp_path / "d" / f"{name}.jsonl").write_text(json.dumps(doc) + "\n")
    cfg = local_task_config("sciq", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert set(cfg["dataset_kwargs"]["data_files"]) == {"train", "test"} and "training_split" not in cfg


def test_wikitext_raw_text_is_cut_into_the_document_level_pages(tmp_path):
    raw = tmp_path / "wiki.test.raw"
    raw.write_bytes(b" = A = \r\n Text a . \r\n = = Sub = = \r\n More . \r\n = B = \r\n Text b . \r\n")
    cfg = local_task_config("wikitext", tmp_path, cache_dir=tmp_path / "cache")
    pages = [json.loads(line)["page"] for line in open(cfg["dataset_kwargs"]["data_files"]["test"])]
    assert pages == [" = A = \n\n Text a . \n\n = = Sub = = \n\n More . \n", " = B = \n\n Text b . \n"]


# ------------------------------------------------------------------------------ one shared tiny model


@pytest.fixture(scope="module")
def exported_tiny_model(tmp_path_factory):
    """A 2-layer, 32-wide GPT exported once; block 256 so every PIQA/ARC continuation fits its context."""
    from inheritune_core.models.gpt import GPT, GPTConfig
    from inheritune_core.models.hf import export_hf

    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=256, vocab_size=50304, n_layer=2, n_head=4, n_embd=32))
    return model, export_hf(model, tmp_path_factory.mktemp("eval") / "tiny-hf")


def test_table5_runs_offline_from_a_folder_in_one_call(exported_tiny_model, tmp_path, capsys):
    """Every Table 5 benchmark from its original release (MMLU absent): converted, checked and scored by lm-eval's
    `hf` model; the missing task is listed in one line and skipped."""
    _, export_dir = exported_tiny_model
    folder = write_table5_folder(tmp_path / "table5")
    with pytest.raises(MissingData, match=r"no usable local data for mmlu .*strict=False"):
        evaluate(export_dir, TABLE5_TASKS, local_data=folder, device="cpu")  # fails before loading the model
    table = evaluate(
        export_dir,
        TABLE5_TASKS,
        local_data=folder,
        strict=False,
        limit=2,
        device="cpu",
        cache_dir=tmp_path / "cache",
    )
    out = capsys.readouterr().out
    assert "skipped 1 task(s) without local data: mmlu\n" in out
    assert list(table.columns) == list(RESULT_COLUMNS)
    scored = [t for t in TABLE5_TASKS if t != "mmlu"]
    assert list(dict.fromkeys(table["task"])) == scored and table.attrs["skipped"].keys() == {"mmlu"}
    acc = table[table["metric"] == "acc"].set_index("task")
    assert acc.loc[scored, "value"].between(0, 1).all()
    assert (acc["n"] == 2).all() and (acc["dropped"] == 0).all() and (acc["shots"] == 0).all()
    assert (acc["sample"] == "random").all() and (acc["seed"] == 1234).all()
    assert (acc["wall_s"] > 0).all() and (acc["group"] == "").all()
    layouts = table.attrs["data_source"]
    assert "WSC release" in layouts["wsc273"] and "GLUE release (MNLI TSV)" in layouts["mnli"]
    assert "LogiQA release" in layouts["logiqa"] and "TruthfulQA release" in layouts["truthfulqa_mc2"]


def test_mmlu_style_group_5shot_from_local_csvs(exported_tiny_model, tmp_path, monkeypatch):
    """Two MMLU subjects from MMLU's own CSV release, as a group: each subject is scored 5-shot with its dev
    examples in every prompt, and the group's row is the size-weighted mean of the subjects' rows."""
    _, export_dir = exported_tiny_model
    root = write_mmlu_release(tmp_path / "mmlu")
    group = define_group("mmlu_pair", [f"mmlu_{s}" for s in MMLU_SUBJECTS])  # shots: the MMLU subjects' 5
    contexts: list[str] = []
    real_lm = harness._hf_lm

    def recording_lm(*args, **kwargs):
        lm = real_lm(*args, **kwargs)
        score = lm.loglikelihood
        lm.loglikelihood = lambda requests, *a, **k: (
            contexts.extend(r.args[0] for r in requests),
            score(requests, *a, **k),
        )[1]
        return lm

    monkeypatch.setattr(harness, "_hf_lm", recording_lm)
    table = evaluate(
        export_dir, [group], local_data={group: root}, device="cpu", cache_dir=tmp_path / "cache"
    )
    acc = table[table["metric"] == "acc"].set_index("task")
    subjects = [f"mmlu_{s}" for s in MMLU_SUBJECTS]
    assert list(acc.index) == [group, *subjects]
    assert (acc["shots"] == 5).all() and list(acc.loc[subjects, "group"]) == [group, group]
    assert list(acc.loc[subjects, "n"]) == list(MMLU_SUBJECTS.values())  # every test question, no limit
    weighted = sum(acc.loc[s, "value"] * acc.loc[s, "n"] for s in subjects) / acc.loc[subjects, "n"].sum()
    assert acc.loc[group, "value"] == pytest.approx(weighted) and acc.loc[group, "n"] == sum(
        MMLU_SUBJECTS.values()
    )
    assert acc.loc[group, "wall_s"] == pytest.approx(acc.loc[subjects, "wall_s"].sum())
    # the prompts: the subject's description, its 5 dev examples with answers, then the test question
    for subject in MMLU_SUBJECTS:
        dev = [d["question"] for d in mmlu_docs(subject, "dev")]
        for test_doc in mmlu_docs(subject, "test"):
            mine = [
                c
                for c in contexts
                if c.rstrip().endswith(
                    render_doc(official_task_config(f"mmlu_{subject}", True), test_doc)["text"]
                )
            ]
            assert len(mine) == 4  # one request per choice
            prompt = mine[0]
            assert prompt.startswith(
                f"The following are multiple choice questions (with answers) about "
                f"{subject.replace('_', ' ')}."
            )
            assert all(q in prompt for q in dev) and prompt.count("\nAnswer:") == 6
    assert len(contexts) == 4 * sum(MMLU_SUBJECTS.values())


def test_limit_scores_a_seeded_random_sample(tmp_path, exported_tiny_model):
    from lm_eval.tasks import TaskManager

    docs = [dict(OFFICIAL["piqa"][k % 3], goal=f"{OFFICIAL['piqa'][k % 3]['goal']} ({k})") for k in range(40)]
    path = tmp_path / "valid.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    write_local_task("piqa", path, tmp_path / "yaml", cache_dir=tmp_path / "cache")
    task = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False).load(["piqa"])["tasks"][
        "piqa"
    ]
    lm = harness._hf_lm(exported_tiny_model[1], 8, "cpu")
    first = select_documents(task, lm, 5, "first")
    assert first.indices == (0, 1, 2, 3, 4) and first.dropped == 0 and first.total == 40
    picks = [select_documents(task, lm, 5, "random", seed).indices for seed in (1, 1, 2)]
    assert picks[0] == picks[1] != picks[2]  # reproducible from the seed, different across seeds
    assert len(picks[0]) == 5 and list(picks[0]) == sorted(picks[0]) and picks[0] != first.indices
    assert select_documents(task, lm, None, "random").indices is None  # no limit: every document
    assert (
        len(select_documents(task, lm, 0.25, "random").indices) == 10
    )  # a fraction, rounded up as lm-eval does


# ------------------------------------------------------------------------------ real shared data


@pytest.mark.needs_evaldata
def test_local_tasks_render_what_the_official_definitions_render(evaldata_dir, tmp_path):
    from lm_eval.tasks import TaskManager

    tasks = list(SHARED_EVALDATA_FOLDERS)
    sources = resolve_local_sources(tasks, data_dir=evaldata_dir)
    assert set(sources) == set(tasks)
    for task in tasks:
        write_local_task(task, sources[task], tmp_path / "yaml", cache_dir=tmp_path / "cache")
    loaded = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False).load(tasks)["tasks"]
    for task in tasks:
        local = loaded[task]
        official = official_task_config(task, resolve_functions=True)
        docs = list(local.eval_docs)[:LIMIT]
        assert docs, task
        for doc in docs:
            rendered = render_doc(official, doc)
            assert local.doc_to_text(doc) == rendered["text"], task
            assert local.doc_to_target(doc) == rendered["target"], task
            if official.get("doc_to_choice"):
                assert local.doc_to_choice(doc) == rendered["choices"], task
        assert local.config.metric_list == official["metric_list"]
        assert local.OUTPUT_TYPE == official["output_type"]

    # ... and the converted documents carry the original data (first rows checked against the raw files)
    piqa_raw = [
        json.loads(line) for line in (evaldata_dir / "piqa/valid.jsonl").read_text().splitlines()[:LIMIT]
    ]
    labels = (evaldata_dir / "piqa/valid-labels.lst").read_text().split()[:LIMIT]
    for doc, raw, y in zip(list(loaded["piqa"].eval_docs)[:LIMIT], piqa_raw, labels):
        assert loaded["piqa"].doc_to_text(doc) == f"Question: {raw['goal']}\nAnswer:"
        assert loaded["piqa"].doc_to_choice(doc) == [raw["sol1"], raw["sol2"]] and doc["label"] == int(y)
    arc_raw = [
        json.loads(line)
        for line in (evaldata_dir / "arc_easy/arc_easy.llmfoundry.jsonl").read_text().splitlines()[:LIMIT]
    ]
    for doc, raw in zip(list(loaded["arc_easy"].eval_docs)[:LIMIT], arc_raw):
        assert loaded["arc_easy"].doc_to_text(doc) == raw["query"] + "\nAnswer:"
        assert loaded["arc_easy"].doc_to_choice(doc) == raw["choices"]
        assert loaded["arc_easy"].doc_to_target(doc) == raw["gold"]
    lambada_raw = (evaldata_dir / "lambada_openai/lambada_test.jsonl").read_text().splitlines()[:LIMIT]
    for doc, line in zip(list(loaded["lambada_openai"].eval_docs)[:LIMIT], lambada_raw):
        task = loaded["lambada_openai"]
        assert task.doc_to_text(doc) + task.doc_to_target(doc) == json.loads(line)["text"]
    pages = [d["page"] for d in loaded["wikitext"].eval_docs]
    raw_lines = [
        ln for ln in (evaldata_dir / "wikitext2_raw/wiki.test.raw").read_text().splitlines() if ln.strip()
    ]
    assert [
        ln for p in pages for ln in p.split("\n") if ln.strip()
    ] == raw_lines  # every line, in order, once
    assert all(p.startswith(" = ") and not p.startswith(" = = ") for p in pages)


@pytest.mark.needs_evaldata
def test_lm_eval_evaluates_an_exported_model_offline_reproducibly(
    evaldata_dir, exported_tiny_model, tmp_path
):
    tasks = ["lambada_openai", "piqa", "arc_easy", "wikitext"]
    limits = {
        "lambada_openai": LIMIT,
        "piqa": LIMIT,
        "arc_easy": LIMIT,
        "wikitext": 1,
    }  # a page is ~1k tokens
    model, export_dir = exported_tiny_model
    # once on the exported directory, once on the GPT itself (exported to a temporary folder on the fly)
    runs = [
        evaluate(m, tasks, limit=limits, device="cpu", data_dir=evaldata_dir, cache_dir=tmp_path)
        for m in (export_dir, model)
    ]
    table = runs[0]
    assert list(table.columns) == list(RESULT_COLUMNS)
    assert (table["dropped"] == 0).all()  # block 256: every document fits
    got = {(r.task, r.metric): r.value for r in table.itertuples()}
    expected = {
        ("lambada_openai", "acc"),
        ("lambada_openai", "perplexity"),
        ("piqa", "acc"),
        ("piqa", "acc_norm"),
        ("arc_easy", "acc"),
        ("arc_easy", "acc_norm"),
        ("wikitext", "word_perplexity"),
        ("wikitext", "byte_perplexity"),
        ("wikitext", "bits_per_byte"),
    }
    assert set(got) == expected
    assert table.set_index(["task", "metric"])["n"].to_dict() == {k: limits[k[0]] for k in expected}
    # wikitext's pages are one text: its limit takes the first page; the others a seeded random sample
    assert dict(zip(table["task"], table["sample"])) == {
        "lambada_openai": "random",
        "piqa": "random",
        "arc_easy": "random",
        "wikitext": "first",
    }
    for (task, metric), value in got.items():
        if metric.startswith("acc"):
            assert 0.0 <= value <= 1.0
        elif metric == "bits_per_byte":
            assert 0.0 < value < 30.0
        else:  # perplexities of a random 50k-vocab model: above 1, at most a few times the vocabulary
            assert 1.0 < value < 1e7, (task, metric, value)
    # an untrained model is near uniform over 50304 tokens: LAMBADA's target-word perplexity shows it
    assert got[("lambada_openai", "perplexity")] > 1000
    assert math.isclose(got[("wikitext", "bits_per_byte")], math.log2(got[("wikitext", "byte_perplexity")]))
    same = [r.drop(columns="wall_s") for r in runs]
    assert same[0].equals(same[1])  # identical across two runs (but for the time they took)


# ------------------------------------------------------------- short contexts (fit_context)

SHORT_BLOCK = 32  # the smoke scale's block_size: many PIQA solutions are longer


@pytest.fixture(scope="module")
def exported_short_context_model(tmp_path_factory):
    from inheritune_core.models.gpt import GPT, GPTConfig
    from inheritune_core.models.hf import export_hf

    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=SHORT_BLOCK, vocab_size=50304, n_layer=2, n_head=4, n_embd=32))
    return export_hf(model, tmp_path_factory.mktemp("eval-short") / "short-hf")


def _piqa_fits_by_own_tokenization(evaldata_dir, n_docs: int) -> list[bool]:
    """For the first raw PIQA questions: do both solutions fit SHORT_BLOCK tokens as lm-eval scores them?

    Independent of lm-eval and transformers: tiktoken's GPT-2 BPE on the raw file. lm-eval's piqa prompt is
    "Question: {goal}\nAnswer:", each choice is scored as " " + solution, and the scored tokens are those of
    prompt+continuation after the prompt's own tokens.
    """
    from inheritune_core.data.tokenizer import load_tokenizer

    enc = load_tokenizer("gpt2")
    fits = []
    for line in (evaldata_dir / "piqa/valid.jsonl").read_text().splitlines()[:n_docs]:
        doc = json.loads(line)
        prompt = f"Question: {doc['goal']}\nAnswer:"
        lengths = [
            len(enc.encode_ordinary(prompt + " " + doc[s])) - len(enc.encode_ordinary(prompt))
            for s in ("sol1", "sol2")
        ]
        fits.append(max(lengths) <= SHORT_BLOCK)
    return fits


@pytest.mark.needs_evaldata
def test_fit_context_keeps_exactly_the_documents_that_fit(
    evaldata_dir, exported_short_context_model, tmp_path
):
    from lm_eval.tasks import TaskManager

    from inheritune_core.evaluation.harness import _hf_lm, fit_task_to_context

    n_raw = 50
    fits = _piqa_fits_by_own_tokenization(evaldata_dir, n_raw)
    assert 0 < fits.count(False) < n_raw  # the check below can tell kept from dropped
    want = fits.count(True) - 2  # stop before the end of the checked prefix
    last = [i for i, ok in enumerate(fits) if ok][want - 1]  # raw index of the want-th fitting document

    write_local_task("piqa", evaldata_dir / "piqa", tmp_path / "yaml", cache_dir=tmp_path / "cache")
    loaded = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False).load(["piqa"])
    task = loaded["tasks"]["piqa"]
    lm = _hf_lm(exported_short_context_model, 8, "cpu")
    assert lm.max_length == SHORT_BLOCK
    kept, dropped, longest = fit_task_to_context(task, lm, limit=want)
    assert (kept, dropped) == (want, fits[: last + 1].count(False)) and longest > SHORT_BLOCK
    raw = [json.loads(line) for line in (evaldata_dir / "piqa/valid.jsonl").read_text().splitlines()[:n_raw]]
    expected = [(d["goal"], d["sol1"], d["sol2"]) for d, ok in zip(raw, fits) if ok][:want]
    assert [(d["goal"], d["sol1"], d["sol2"]) for d in task.eval_docs] == expected


@pytest.mark.needs_evaldata
def test_fit_context_leaves_rolling_loglikelihood_tasks_alone(
    evaldata_dir, exported_short_context_model, tmp_path
):
    from lm_eval.tasks import TaskManager

    from inheritune_core.evaluation.harness import _hf_lm, fit_task_to_context

    write_local_task(
        "wikitext", evaldata_dir / "wikitext2_raw", tmp_path / "yaml", cache_dir=tmp_path / "cache"
    )
    manager = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False)
    task = manager.load(["wikitext"])["tasks"]["wikitext"]
    before = list(task.eval_docs)
    assert fit_task_to_context(task, _hf_lm(exported_short_context_model, 8, "cpu"), limit=3) == (
        len(before),
        0,
        0,
    )
    assert list(task.eval_docs) == before and "test_docs" not in vars(task)  # nothing replaced


@pytest.mark.needs_evaldata
def test_short_context_model_evaluates_piqa_on_documents_that_fit(
    evaldata_dir, exported_short_context_model, tmp_path, capsys
):
    fits = _piqa_fits_by_own_tokenization(evaldata_dir, 50)
    table = evaluate(
        exported_short_context_model,
        ["piqa"],
        limit=LIMIT,
        sample="first",
        device="cpu",
        data_dir=evaldata_dir,
        cache_dir=tmp_path,
    )
    last = [i for i, ok in enumerate(fits) if ok][LIMIT - 1]
    assert set(table["metric"]) == {"acc", "acc_norm"}
    assert (table["n"] == LIMIT).all() and (table["dropped"] == fits[: last + 1].count(False)).all()
    assert table["dropped"].iloc[0] >= 1  # the first PIQA questions include one too long for 32 tokens
    assert table["value"].between(0.0, 1.0).all()
    out = capsys.readouterr().out
    assert f"piqa: dropped {table['dropped'].iloc[0]} of {LIMIT + table['dropped'].iloc[0]} documents" in out
    assert f"context of {SHORT_BLOCK} tokens" in out
    # without fitting, lm-eval's assertion on the long document becomes one clear error
    with pytest.raises(EvaluationError, match="does not fit the model's context window"):
        evaluate(
            exported_short_context_model,
            ["piqa"],
            limit=LIMIT,
            sample="first",
            device="cpu",
            data_dir=evaldata_dir,
            cache_dir=tmp_path,
            fit_context=False,
        )


@pytest.mark.needs_evaldata
def test_fit_context_works_through_groups(evaldata_dir, exported_short_context_model, tmp_path):
    """A group's subtasks are fitted like any task; the group's counts sum theirs."""
    group = define_group("short_group", ["piqa", "arc_easy"])
    table = evaluate(
        exported_short_context_model,
        [group],
        limit=LIMIT,
        sample="first",
        device="cpu",
        local_data={group: evaldata_dir},
        cache_dir=tmp_path,
    )
    acc = table[table["metric"] == "acc"].set_index("task")
    assert list(acc.index) == [group, "piqa", "arc_easy"]
    assert (
        acc.loc["piqa", "dropped"] >= 1 and acc.loc["arc_easy", "dropped"] == 0
    )  # ARC-Easy's longest: 28 tokens
    assert (
        acc.loc[group, "dropped"] == acc.loc["piqa", "dropped"]
        and (acc.loc[["piqa", "arc_easy"], "n"] == LIMIT).all()
    )
    assert acc.loc[group, "value"] == pytest.approx(
        acc.loc[["piqa", "arc_easy"], "value"].mean()
    )  # equal sizes


@pytest.mark.slow
@pytest.mark.needs_evaldata
def test_the_lm_eval_command_line_gives_the_same_numbers(evaldata_dir, exported_tiny_model, tmp_path):
    """`lm_eval --model hf --include_path DIR` on the written YAMLs equals evaluate() (lm-eval indexes ~15 s)."""
    import subprocess
    import sys
    from pathlib import Path

    _, export_dir = exported_tiny_model
    yaml_dir = tmp_path / "yaml"
    write_local_task("piqa", evaldata_dir / "piqa", yaml_dir, cache_dir=tmp_path)
    lm_eval_bin = Path(sys.executable).with_name("lm_eval")
    out = tmp_path / "out"
    subprocess.run(
        [
            str(lm_eval_bin),
            "--model",
            "hf",
            "--model_args",
            f"pretrained={export_dir},dtype=float32",
            "--include_path",
            str(yaml_dir),
            "--tasks",
            "piqa",
            "--limit",
            str(LIMIT),
            "--device",
            "cpu",
            "--batch_size",
            "8",
            "--output_path",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    cli = json.loads(next(out.rglob("results_*.json")).read_text())["results"]["piqa"]
    api = evaluate(
        export_dir,
        ["piqa"],
        limit=LIMIT,
        sample="first",
        device="cpu",
        data_dir=evaldata_dir,
        cache_dir=tmp_path,
    )
    api = api.set_index("metric")["value"]
    assert cli["acc,none"] == api["acc"] and cli["acc_norm,none"] == api["acc_norm"]


# ------------------------------------------------------------------------- every layout, scored (slow)


@pytest.mark.slow
def test_every_layout_scores_with_lm_eval(exported_tiny_model, tmp_path):
    """The layouts the default suite converts but does not score: llm-foundry's files and the Hub's formats."""
    from evaluation_fixtures import llmfoundry_rows, write_boolq_release, write_jsonl, write_parquet

    _, export_dir = exported_tiny_model
    foundry = tmp_path / "llm-foundry"
    for task in ("wsc273", "piqa", "boolq", "winogrande", "logiqa", "arc_easy", "lambada_openai"):
        write_jsonl(foundry / task / f"{task}.jsonl", llmfoundry_rows(task, OFFICIAL[task]))
    rows = [r for s in MMLU_SUBJECTS for r in llmfoundry_rows("mmlu", mmlu_docs(s, "test"))]
    write_jsonl(foundry / "mmlu_llmfoundry" / "mmlu.jsonl", rows)
    define_group(
        "mmlu_llmfoundry", [f"mmlu_{s}" for s in MMLU_SUBJECTS], shots=0
    )  # llm-foundry has no dev split
    hub = tmp_path / "hub"
    write_parquet(hub / "piqa" / "validation-00000-of-00001.parquet", OFFICIAL["piqa"])
    write_jsonl(hub / "boolq" / "validation.jsonl", OFFICIAL["boolq"])
    write_parquet(
        hub / "truthfulqa_mc2" / "multiple_choice" / "validation-00000-of-00001.parquet",
        OFFICIAL["truthfulqa_mc2"],
    )
    write_jsonl(hub / "wnli" / "validation.json", OFFICIAL["wnli"])
    for subject in MMLU_SUBJECTS:
        for split in ("test", "dev"):
            write_parquet(
                hub / "mmlu_hub" / subject / f"{split}-00000-of-00001.parquet", mmlu_docs(subject, split)
            )
    define_group("mmlu_hub", [f"mmlu_{s}" for s in MMLU_SUBJECTS])
    other = tmp_path / "other"
    write_boolq_release(other / "boolq" / "dev.jsonl", OFFICIAL["boolq"])
    write_jsonl(
        other / "boolq_superglue" / "val.jsonl", [{**d, "label": bool(d["label"])} for d in OFFICIAL["boolq"]]
    )
    calls = [
        (
            foundry,
            [
                "wsc273",
                "piqa",
                "boolq",
                "winogrande",
                "logiqa",
                "arc_easy",
                "lambada_openai",
                "mmlu_llmfoundry",
            ],
        ),
        (hub, ["piqa", "boolq", "truthfulqa_mc2", "wnli", "mmlu_hub"]),
    ]
    for folder, tasks in calls:
        table = evaluate(export_dir, tasks, local_data=folder, device="cpu", cache_dir=tmp_path / "cache")
        scored = table[table["metric"].isin(["acc", "perplexity"])]
        assert set(tasks) <= set(scored["task"]) and scored["value"].notna().all()
    table = evaluate(
        export_dir,
        ["boolq"],
        local_data={"boolq": other / "boolq_superglue"},
        device="cpu",
        cache_dir=tmp_path / "cache",
    )
    assert table.attrs["data_source"]["boolq"].endswith(
        "(SuperGLUE release {question, passage, idx, label: true/false})"
    )


@pytest.mark.slow
def test_the_mmlu_group_runs_offline_from_its_release(exported_tiny_model, tmp_path):
    """lm-eval's own `mmlu` group, 5-shot, from MMLU's CSV release: 57 subjects (one test question each here),
    its 4 category groups and the overall row, each a size-weighted mean of the subjects under it."""
    from inheritune_core.evaluation.local import group_leaves, group_tree

    _, export_dir = exported_tiny_model
    subjects = {official_task_config(t)["dataset_name"]: 1 for t in group_leaves("mmlu")}
    assert len(subjects) == 57
    root = write_mmlu_release(tmp_path / "mmlu", subjects)
    table = evaluate(
        export_dir, ["mmlu"], local_data={"mmlu": root}, device="cpu", cache_dir=tmp_path / "cache"
    )
    acc = table[table["metric"] == "acc"].set_index("task")
    assert set(acc.index) == set(group_tree("mmlu")) | set(group_leaves("mmlu")) and (acc["shots"] == 5).all()
    leaves = acc.loc[group_leaves("mmlu")]
    assert acc.loc["mmlu", "n"] == 57 and acc.loc["mmlu", "value"] == pytest.approx(leaves["value"].mean())
    for group in group_tree("mmlu")[1:]:
        members = acc[acc["group"] == group]
        assert acc.loc[group, "value"] == pytest.approx(
            (members["value"] * members["n"]).sum() / members["n"].sum()
        )
