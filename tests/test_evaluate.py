"""lm-eval on exported models, offline: local task definitions, converters, and end-to-end evaluation."""

from __future__ import annotations

import ast
import json
import math

import pytest
import torch

from inheritune_core.errors import DataError, EvaluationError
from inheritune_core.evaluation.harness import (
    convert_arc_query_choices_gold,
    convert_piqa_original,
    convert_wikitext_raw,
    evaluate,
    find_task_yaml,
    local_task_config,
    official_task_config,
    resolve_local_sources,
    write_local_task,
)
from inheritune_core.evaluation.tasks import SHARED_EVALDATA_FOLDERS, TABLE1_TASKS, TABLE4_TASKS, TABLE5_TASKS

LIMIT = 5


# ----------------------------------------------------------------------------------------------- units


def test_paper_task_names_are_lm_eval_tasks():
    from inheritune_core.evaluation.harness import _task_yaml_index

    _, known = _task_yaml_index()
    assert set(TABLE1_TASKS) | set(TABLE4_TASKS) | set(TABLE5_TASKS) <= known


def test_unknown_task_gets_one_clear_error(tmp_path):
    with pytest.raises(EvaluationError, match="unknown lm-eval task 'piqaa'.*piqa"):
        find_task_yaml("piqaa")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EvaluationError, match="unknown lm-eval task 'no_such_task'"):
        evaluate(tmp_path, ["no_such_task"], data_dir=False)


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


def test_a_file_in_the_official_schema_is_used_as_is_for_any_task(tmp_path):
    # The general mechanism: sciq has no converter; its official-schema jsonl just replaces the download.
    doc = {
        "question": "Q?",
        "distractor1": "a",
        "distractor2": "b",
        "distractor3": "c",
        "correct_answer": "d",
        "support": "S.",
    }
    (tmp_path / "sciq.jsonl").write_text(json.dumps(doc) + "\n")
    cfg = local_task_config("sciq", tmp_path / "sciq.jsonl", cache_dir=tmp_path)
    official = official_task_config("sciq")
    assert cfg["include"] == str(find_task_yaml("sciq")) and cfg["dataset_path"] == "json"
    assert cfg["dataset_kwargs"]["data_files"] == {official["test_split"]: str(tmp_path / "sciq.jsonl")}
    assert cfg["training_split"] is None and cfg["validation_split"] is None  # absent locally
    # a folder with files named after the splits works the same way
    (tmp_path / "d").mkdir()
    for split in ("train", "test"):
        (tmp_path / "d" / f"{split}.jsonl").write_text(json.dumps(doc) + "\n")
    cfg = local_task_config("sciq", tmp_path / "d", cache_dir=tmp_path)
    assert set(cfg["dataset_kwargs"]["data_files"]) == {"train", "test"} and "training_split" not in cfg


def test_converters_on_small_inputs(tmp_path):
    (tmp_path / "valid.jsonl").write_text(
        json.dumps({"goal": "g1", "sol1": "a", "sol2": "b"})
        + "\n"
        + json.dumps({"goal": "g2", "sol1": "c", "sol2": "d"})
        + "\n"
    )
    (tmp_path / "valid-labels.lst").write_text("1\n0\n")
    assert convert_piqa_original(tmp_path) == [
        {"goal": "g1", "sol1": "a", "sol2": "b", "label": 1},
        {"goal": "g2", "sol1": "c", "sol2": "d", "label": 0},
    ]
    arc = tmp_path / "arc.jsonl"
    arc.write_text(json.dumps({"query": "Question: Why?", "choices": ["x", "y", "z"], "gold": 2}) + "\n")
    assert convert_arc_query_choices_gold(arc) == [
        {
            "id": "local-0",
            "question": "Why?",
            "answerKey": "C",
            "choices": {"text": ["x", "y", "z"], "label": ["A", "B", "C"]},
        }
    ]
    raw = tmp_path / "wiki.test.raw"
    raw.write_bytes(b" = A = \r\n Text a . \r\n = = Sub = = \r\n More . \r\n = B = \r\n Text b . \r\n")
    pages = convert_wikitext_raw(raw)
    assert [p["page"] for p in pages] == [
        " = A = \n\n Text a . \n\n = = Sub = = \n\n More . \n",
        " = B = \n\n Text b . \n",
    ]


# ------------------------------------------------------------------------------ real shared data


@pytest.fixture(scope="module")
def exported_tiny_model(tmp_path_factory):
    """A 2-layer, 32-wide GPT exported once; block 256 so every PIQA/ARC continuation fits its context."""
    from inheritune_core.models.gpt import GPT, GPTConfig
    from inheritune_core.models.hf import export_hf

    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=256, vocab_size=50304, n_layer=2, n_head=4, n_embd=32))
    return model, export_hf(model, tmp_path_factory.mktemp("eval") / "tiny-hf")


def _render_officially(cfg: dict, key: str, doc: dict):
    """What the official YAML's doc_to_text/target/choice give for a doc (lm-eval's templating rules)."""
    from lm_eval.utils import apply_template

    spec = cfg[key]
    if callable(spec):
        return spec(doc)
    if isinstance(spec, str) and spec in doc:
        return doc[spec]
    out = apply_template(spec, doc)
    if key == "doc_to_choice":
        return ast.literal_eval(out)
    return int(out) if key == "doc_to_target" and out.isdigit() else out


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
            assert local.doc_to_text(doc) == _render_officially(official, "doc_to_text", doc), task
            assert local.doc_to_target(doc) == _render_officially(official, "doc_to_target", doc), task
            if official.get("doc_to_choice"):
                assert local.doc_to_choice(doc) == _render_officially(official, "doc_to_choice", doc), task
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
    assert list(table.columns) == ["task", "metric", "value", "stderr", "n", "dropped"]
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
    assert runs[0].equals(runs[1])  # identical across two runs


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
    task = TaskManager(include_path=str(tmp_path / "yaml"), include_defaults=False).load(["wikitext"])[
        "tasks"
    ]["wikitext"]
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
            device="cpu",
            data_dir=evaldata_dir,
            cache_dir=tmp_path,
            fit_context=False,
        )


@pytest.mark.needs_evaldata
def test_fit_context_works_through_groups(evaldata_dir, exported_short_context_model, tmp_path, capsys):
    """A group's leaf tasks are fitted in place and the built Group goes to lm-eval: no per-task special case."""
    from inheritune_core.evaluation.harness import (
        _hf_lm,
        _load_fitted_tasks,
        _results_table,
        _run_lm_eval,
        _task_manager,
    )

    yaml_dir = tmp_path / "yaml"
    for task, folder in (("piqa", "piqa"), ("arc_easy", "arc_easy")):
        write_local_task(task, evaldata_dir / folder, yaml_dir, cache_dir=tmp_path / "cache")
    (yaml_dir / "short_group.yaml").write_text(
        "group: short_group\ntask:\n  - piqa\n  - arc_easy\n"
        "aggregate_metric_list:\n  - metric: acc\n    weight_by_size: true\n"
    )
    lm = _hf_lm(exported_short_context_model, 8, "cpu")
    manager = _task_manager(yaml_dir, include_defaults=False)
    specs, dropped = _load_fitted_tasks(lm, ["short_group"], manager, LIMIT)
    assert [type(s).__name__ for s in specs] == ["Group"]
    assert dropped["piqa"] >= 1 and dropped["arc_easy"] == 0  # ARC-Easy's longest choice is 28 tokens
    assert dropped["short_group"] == dropped["piqa"]
    results = _run_lm_eval(lm, ["short_group"], manager, 0, LIMIT, 100, 1234, specs)
    assert results["n-samples"]["piqa"]["effective"] == results["n-samples"]["arc_easy"]["effective"] == LIMIT
    table = _results_table(results, ["short_group", "piqa", "arc_easy"], dropped)
    assert table["value"].between(0.0, 1.0).all()
    assert "arc_easy: every one of the 5 documents examined fits" in capsys.readouterr().out


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
    api = evaluate(export_dir, ["piqa"], limit=LIMIT, device="cpu", data_dir=evaldata_dir, cache_dir=tmp_path)
    api = api.set_index("metric")["value"]
    assert cli["acc,none"] == api["acc"] and cli["acc_norm,none"] == api["acc_norm"]
