"""Downstream evaluation through lm-evaluation-harness, the way the paper did it (Tables 1, 4 and 5).

A model is first exported to a Hugging Face directory (`models.hf.export_hf`) and evaluated by lm-eval's own
`hf` model on that directory, so `evaluate(...)` and the command line

    lm_eval --model hf --model_args pretrained=DIR --tasks piqa,arc_easy

run the same code path. Online, lm-eval downloads the official task data itself. Offline, any task or group
runs on local copies of its data (`local`: official task YAMLs pointed at converted local files;
`converters`: the layouts it reads): `evaluate(model, TABLE5_TASKS, local_data="path/to/folder")` runs the
paper's Table 5 from a folder holding one subfolder per task; `strict=False` skips, and lists in one line, the
tasks whose data is missing.

Per task, the table reports lm-eval's metrics with: `n` documents scored and `dropped` (skipped because they
do not fit the model's context), `shots`, which documents (`sample`: all / first / random, with its `seed`),
`wall_s` (seconds spent on the task) and `group` (the group a subtask's row belongs to). A group's rows (MMLU)
are computed by lm-eval's own aggregation (`Group.aggregate`: the size-weighted mean over its subtasks) from
the subtasks' results, which are in the table beside it.

`limit=N` scores N documents per task: a seeded random sample (`sample="random"`, the default, since release
files are often sorted: by answer, topic or source), or the first N (`sample="first"`, the default for the
tasks in ORDERED_TASKS). The documents are chosen before lm-eval runs and handed to it as its `samples`.

Small models have short contexts (block_size 32-64 at the smoke/tiny scales) and lm-eval asserts that every
continuation it scores fits the model's context, so one long PIQA solution would fail the whole task. By
default (`fit_context=True`) documents of loglikelihood-based tasks whose longest continuation (choice or target,
with the target delimiter, tokenized as lm-eval's model tokenizes it) is longer than the model's max_length are
skipped while the sample is drawn: `limit=N` still means N scored documents, `dropped` counts the documents
skipped to get them, and one line per task says so. Rolling-loglikelihood tasks (wikitext) window long
documents themselves and are left untouched.

When every requested task is local, the TaskManager indexes only the generated YAMLs (include_defaults=False),
which saves the ~15 s lm-eval spends indexing its ~14k built-in task files.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from ..data.cli_format import HelpFormatter
from ..errors import DataError, EvaluationError
from ..io import atomic_write_text
from .converters import register_converter
from .hub import (
    HubUnreachable,
    known_unavailable,
    official_data_error,
    offline_unless_reachable,
    remember_unavailable,
)
from .local import (
    USER_GROUPS,
    LocalTask,
    MissingData,
    default_shots,
    define_group,
    find_local_sources,
    find_task_yaml,
    group_config,
    group_tree,
    kind_of,
    local_task_config,
    official_task_config,
    prepare_local,
    resolve_local_sources,
    write_local,
    write_local_task,
    yaml_index,
)
from .selection import (  # re-exported: their home before evaluation.selection
    SAMPLES,
    Selection,
    _report_selection,
    check_limit,
    fit_task_to_context,
    longest_continuation,
    select_documents,
)
from .tasks import ORDERED_TASKS, PAPER_TABLES, SHARED_EVALDATA_FOLDERS, tasks_of

RESULT_COLUMNS: tuple[str, ...] = (
    "task",
    "metric",
    "value",
    "stderr",
    "n",
    "dropped",
    "shots",
    "sample",
    "seed",
    "wall_s",
    "group",
)


# ------------------------------------------------------------------------------------------ task names


def expand_task_names(tasks: str | Sequence[str]) -> list[str]:
    """Requested names -> lm-eval tasks and groups: "a,b" strings split, a paper table ("table5") and an lm-eval
    tag replaced by their tasks; one clear error for an unknown name or a duplicate."""
    items = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    names: list[str] = []
    for item in (str(t).strip() for t in items):
        if not item:
            continue
        if item in PAPER_TABLES:
            names += list(tasks_of(item))
        elif item in yaml_index().tags and item not in yaml_index().tasks and item not in yaml_index().groups:
            names += list(yaml_index().tags[item])
        else:
            kind_of(item)  # raises for an unknown name, with close matches
            names.append(item)
    if not names:
        raise EvaluationError("no tasks given")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EvaluationError(f"duplicate tasks in {names}: {duplicates}")
    return names


# ------------------------------------------------------------------------------------------ evaluate


def check_device(device: str) -> None:
    """A CUDA device asked for on a machine without one is one clear line, before a model is exported."""
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise EvaluationError(
                f"device {device!r} was asked for, but CUDA is not available on this machine; use --device cpu "
                "(or leave --device out: CUDA when present, else the CPU)"
            )


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class NothingToEvaluate(EvaluationError):
    """Every requested task was skipped (strict=False): no local data, or no Hub to download it from."""


def evaluate(
    model_or_dir: Any,
    tasks: str | Sequence[str],
    limit: int | float | Mapping[str, int | float | None] | None = None,
    batch_size: int | str | None = None,
    device: str | None = None,
    num_fewshot: int | None = None,
    data_dir: str | os.PathLike | None | bool = None,
    local_data: str | os.PathLike | Mapping[str, Any] | None = None,
    tokenizer: Any = None,
    export_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    bootstrap_iters: int = 1000,
    seed: int = 1234,
    fit_context: bool = True,
    sample: str | None = None,
    strict: bool = True,
    converters: Mapping[str, Any] | None = None,
):
    """Evaluate a model with lm-evaluation-harness; returns a DataFrame with RESULT_COLUMNS.

    model_or_dir: an exported Hugging Face directory, our GPT or a transformers model (exported first: to
        export_dir if given, else to a temporary folder removed afterwards).
    tasks: lm-eval task or group names (a comma-separated string works too), or a paper table ("table5");
        see TABLE1/4/5_TASKS.
    limit: score `limit` documents of each task (a float in (0, 1): that fraction); a mapping gives each task
        its own limit (tasks it leaves out are scored in full). For a group, per subtask.
    sample: which documents a limit scores: "random" (seeded by `seed`; the default) or "first" (the default
        for ORDERED_TASKS).
    num_fewshot: None uses the paper's count per task (TASK_FEWSHOT: MMLU 5-shot, for every subject; 0 elsewhere).
    local_data: a folder of local copies (one subfolder per task, named after it) or {task: file | folder |
        {split: file}}; data_dir: a folder consulted for the other tasks (None: ../shared/evaldata when it
        exists; False: none). Tasks with no local copy use lm-eval's official data (a download; online only).
    strict: with a folder in local_data, a task whose data is missing (no subfolder, a subject of a group, a
        split it needs) is an error; False skips it and lists the skipped tasks in one line. Likewise a task
        with no local copy while the Hub cannot be reached (hub.HubUnreachable, raised at once: hub.py).
        When every task is skipped: NothingToEvaluate; `table.attrs["skipped"]` lists the others.
    converters: {task: function or "module:function"} reading local files in a layout of your own (see
        converters.register_converter).
    bootstrap_iters: resamples for the stderr of perplexity-type metrics (lm-eval's default is 100000).
    fit_context: skip documents whose longest continuation does not fit the model's context (see above);
        False keeps lm-eval's behaviour: such a document fails its task with an EvaluationError.
    """
    import pandas as pd

    names = expand_task_names(tasks)
    if isinstance(limit, Mapping) and set(limit) - set(names):
        raise EvaluationError(f"limit names tasks that were not requested: {sorted(set(limit) - set(names))}")
    check_limit(limit)
    if device is not None:
        check_device(device)
    if sample is not None and sample not in SAMPLES:
        raise EvaluationError(f"sample must be one of {SAMPLES}, got {sample!r}")
    sources, missing = find_local_sources(names, data_dir, local_data)
    shots = {n: num_fewshot if num_fewshot is not None else default_shots(n) for n in names}
    skipped = {n: f"no folder for it in {Path(local_data)}" for n in missing}  # type: ignore[arg-type]
    prepared = {}
    for name, source in sources.items():
        try:
            prepared[name] = prepare_local(name, source, shots[name], converters)
        except MissingData as e:
            skipped[name] = str(e)
    if skipped:
        listed = ", ".join(n for n in names if n in skipped)
        first = next(n for n in names if n in skipped)
        if strict:
            raise MissingData(
                f"no usable local data for {listed} (first: {first}: {skipped[first]}); "
                "pass strict=False to skip them"
            )
        print(f"skipped {len(skipped)} task(s) without local data: {listed}")
    for name in known_unavailable([n for n in names if n not in skipped and n not in prepared]):
        _skip_offline(name, official_data_error(name), skipped, strict)
    remaining = _left_to_evaluate(names, skipped)
    for name, task in prepared.items():
        for note in task.notes:
            print(f"{name}: {note}")
        if not task.exact:
            print(f"{name}: local data is not the official data exactly: {task.describe()}")
    official = [n for n in remaining if n not in prepared]
    device = device or _default_device()
    if batch_size is None:
        batch_size = "auto" if device.startswith("cuda") else 8

    rows: list[dict[str, Any]] = []
    # official data with an unreachable Hub: the Hugging Face cache only, no minute of retries (hub.py)
    hub = offline_unless_reachable() if official else nullcontext(True)
    with hub as reachable, tempfile.TemporaryDirectory(prefix="inheritune-eval-") as tmp:
        model_dir = _model_directory(model_or_dir, tokenizer, export_dir, Path(tmp) / "model")
        yaml_dir = Path(tmp) / "tasks"
        # a group defined from Python over official data still needs its group YAML next to lm-eval's
        defined = [
            LocalTask(n, "official", [], {g: group_config(g) for g in group_tree(n)})
            for n in official
            if n in USER_GROUPS
        ]
        write_local(list(prepared.values()) + defined, yaml_dir, cache_dir)
        task_manager = _task_manager(
            yaml_dir if prepared or defined else None, include_defaults=bool(official)
        )
        lm = _hf_lm(model_dir, batch_size, device)
        for name in remaining:
            task_limit = limit.get(name) if isinstance(limit, Mapping) else limit
            how = sample or ("first" if name in ORDERED_TASKS else "random")
            try:
                rows += _evaluate_name(
                    lm,
                    task_manager,
                    name,
                    shots[name],
                    task_limit,
                    how,
                    seed,
                    fit_context,
                    bootstrap_iters,
                    offline=name in official and not reachable,
                )
            except HubUnreachable as e:
                _skip_offline(name, str(e), skipped, strict)
    evaluated = _left_to_evaluate(names, skipped)
    table = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    table.attrs["data_source"] = {
        n: (prepared[n].describe() if n in prepared else "official") for n in evaluated
    }
    table.attrs["skipped"] = {n: skipped[n] for n in names if n in skipped}
    return table


def _skip_offline(name: str, message: str, skipped: dict[str, str], strict: bool) -> None:
    """A task whose data cannot be had offline: an error when strict, else skipped with one printed line."""
    if strict:
        raise HubUnreachable(message)
    skipped[name] = message
    print(f"skipped {name}: {message}")


def _left_to_evaluate(names: Sequence[str], skipped: Mapping[str, str]) -> list[str]:
    left = [n for n in names if n not in skipped]
    if not left:
        raise NothingToEvaluate(
            f"no task left to evaluate: every requested task was skipped ({', '.join(names)})"
        )
    return left


def _model_directory(model_or_dir: Any, tokenizer: Any, export_dir: Any, tmp_dir: Path) -> Path:
    if isinstance(model_or_dir, (str, os.PathLike)):
        path = Path(model_or_dir)
        if not (path / "config.json").is_file():
            raise EvaluationError(
                f"{path} is not a Hugging Face model directory (no config.json); export it first"
            )
        return path
    from ..models.hf import export_hf

    target = Path(export_dir) if export_dir is not None else tmp_dir
    return export_hf(model_or_dir, target, tokenizer=tokenizer)


def _task_manager(include_path: Path | None, include_defaults: bool):
    from lm_eval.tasks import TaskManager

    return TaskManager(
        include_path=str(include_path) if include_path else None, include_defaults=include_defaults
    )


def _hf_lm(model_dir: Path, batch_size, device: str):
    """lm-eval's own `hf` model on the exported directory, as `lm_eval --model hf` builds it."""
    from lm_eval.api.registry import get_model

    model_args = {"pretrained": str(model_dir), "dtype": "float32" if device == "cpu" else "auto"}
    return get_model("hf").create_from_arg_obj(model_args, {"batch_size": batch_size, "device": device})


def _evaluate_name(
    lm,
    task_manager,
    name: str,
    shots: int,
    limit,
    sample: str,
    seed: int,
    fit_context: bool,
    bootstrap_iters: int,
    offline: bool = False,
) -> list[dict[str, Any]]:
    """The rows of one requested task or group: every subtask scored on its own (timed), groups aggregated
    from their subtasks' results by lm-eval's own Group.aggregate. offline: its data is official and the Hub
    cannot be reached (a load failure then says so)."""
    try:
        loaded = task_manager.load([name])
    except (FileNotFoundError, ConnectionError, OSError) as e:
        if offline:
            remember_unavailable(name)
            raise HubUnreachable(official_data_error(name)) from e
        raise EvaluationError(
            f"lm-eval could not load data for {name!r}: {type(e).__name__}: {e}".splitlines()[0]
        ) from e
    leaf_metrics: dict[str, dict[str, Any]] = {}
    info: dict[str, dict[str, Any]] = {}
    for leaf, task in loaded["tasks"].items():
        t0 = time.perf_counter()
        chosen = select_documents(task, lm, limit, sample, seed, fit_context)
        _report_selection(leaf, chosen, lm, fit_context)
        results = _run_lm_eval(lm, task, task_manager, shots, chosen.indices, bootstrap_iters, seed)
        leaf_metrics[leaf] = results["results"][leaf]
        info[leaf] = {
            "n": results["n-samples"][leaf]["effective"],
            "dropped": chosen.dropped,
            "wall_s": time.perf_counter() - t0,
        }
    parent: dict[str, str] = {}
    for group, children in loaded.get("group_map", {}).items():
        for child in children:
            parent.setdefault(str(child), str(group))
    for gname, group in loaded["groups"].items():
        leaves = [t.task_name for t in group.get_all_tasks()]
        leaf_metrics[gname] = group.aggregate(leaf_metrics)
        info[gname] = {
            "n": sum(info[t]["n"] for t in leaves),
            "dropped": sum(info[t]["dropped"] for t in leaves),
            "wall_s": sum(info[t]["wall_s"] for t in leaves),
        }
    scored = "all" if limit is None else sample
    rows: list[dict[str, Any]] = []
    for item in _hierarchy_order(name, loaded):
        base = {
            **info[item],
            "shots": shots,
            "sample": scored,
            "seed": seed if scored == "random" else None,
            "group": parent.get(item, ""),
        }
        rows += _metric_rows(item, leaf_metrics[item], base)
    return rows


def _hierarchy_order(name: str, loaded: Mapping[str, Any]) -> list[str]:
    """The requested item first, then (for a group) each child, depth first, in lm-eval's order."""
    group_map = {str(k): [str(c) for c in v] for k, v in loaded.get("group_map", {}).items()}
    known = set(loaded["tasks"]) | set(loaded["groups"])
    order: list[str] = []

    def visit(item: str) -> None:
        if item in known and item not in order:
            order.append(item)
        for child in group_map.get(item, []):
            visit(child)

    visit(name)
    order += [t for t in list(loaded["groups"]) + list(loaded["tasks"]) if t not in order]
    return order


def _metric_rows(task: str, metrics: Mapping[str, Any], base: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in metrics.items():
        if (
            "," not in key
            or "_stderr," in key
            or not isinstance(value, (int, float))
            or isinstance(value, bool)
        ):
            continue
        metric, filt = key.split(",", 1)
        stderr = metrics.get(f"{metric}_stderr,{filt}")
        stderr = float(stderr) if isinstance(stderr, (int, float)) else math.nan
        name = metric if filt == "none" else f"{metric},{filt}"
        rows.append({"task": task, "metric": name, "value": float(value), "stderr": stderr, **base})
    return rows


@contextmanager
def _without_environment_report():
    """lm-eval's simple_evaluate ends by collecting an environment report (torch's collect_env: ~0.6 s of
    subprocesses) that these results never read; with one call per subtask (57 for MMLU) it would dominate."""
    from lm_eval import evaluator

    original = evaluator.add_env_info
    evaluator.add_env_info = lambda storage: None
    try:
        yield
    finally:
        evaluator.add_env_info = original


def _run_lm_eval(
    lm, task, task_manager, num_fewshot: int, indices: Sequence[int] | None, bootstrap_iters: int, seed: int
) -> dict:
    """lm-eval's simple_evaluate on one built task, scoring the documents `indices` (None: all). The task
    manager is passed on: without one, simple_evaluate indexes every built-in task YAML again (~15 s)."""
    from lm_eval import simple_evaluate

    name = task.task_name
    try:
        with _without_environment_report():
            results = simple_evaluate(
                model=lm,
                tasks=[task],
                task_manager=task_manager,
                num_fewshot=num_fewshot,
                samples={name: list(indices)} if indices is not None else None,
                log_samples=False,
                bootstrap_iters=bootstrap_iters,
                random_seed=seed,
                numpy_random_seed=seed,
                torch_random_seed=seed,
                fewshot_random_seed=seed,
            )
    except AssertionError as e:
        # lm-eval asserts that every continuation fits the model's context; say so instead of a bare assert.
        raise EvaluationError(
            f"a document of {name!r} does not fit the model's context window; evaluate a model "
            "with a longer block_size (n_positions), or keep fit_context=True"
        ) from e
    except (FileNotFoundError, ConnectionError, OSError) as e:
        raise EvaluationError(
            f"lm-eval could not load data for {name!r}: {type(e).__name__}: {e}".splitlines()[0]
        ) from e
    if results is None:
        raise EvaluationError("lm-eval returned no results (non-zero rank process?)")
    if name not in results["results"]:
        raise EvaluationError(f"lm-eval returned no results for task {name!r}")
    return results


def write_results(table, path: str | os.PathLike) -> Path:
    """Write an evaluation table as CSV, atomically (notebooks keep their numbers under results/)."""
    path = Path(path)
    atomic_write_text(path, table.to_csv(index=False))
    return path


# -------------------------------------------------------------------------------------------------- CLI


def _parse_pairs(items: Sequence[str], flag: str, what: str) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise EvaluationError(f"{flag} expects TASK={what}, got {item!r}")
        task, value = item.split("=", 1)
        out[task] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (every option with its help and default; `main` parses with it)."""
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.evaluation",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="evaluate an exported Hugging Face model directory",
        description="Evaluate an exported Hugging Face model directory with lm-evaluation-harness, on local "
        "copies of the benchmarks where there are some.",
        formatter_class=HelpFormatter,
    )
    run.add_argument(
        "--model", required=True, help="exported Hugging Face directory (see models.hf.export_hf)"
    )
    run.add_argument(
        "--tasks", required=True, help="comma-separated lm-eval tasks or groups, or table1/table4/table5"
    )
    run.add_argument(
        "--limit",
        type=float,
        default=None,
        help="documents per task, a positive number (a fraction when below 1) (default: every document)",
    )
    run.add_argument(
        "--sample",
        choices=SAMPLES,
        default=None,
        help="which documents --limit scores (default: random, seeded; first for ordered tasks such as "
        "wikitext)",
    )
    run.add_argument("--seed", type=int, default=1234, help="seed of the random sample --limit scores")
    run.add_argument(
        "--batch-size",
        default=None,
        help="an integer or 'auto' (default: auto on CUDA, 8 on the CPU)",
    )
    run.add_argument(
        "--device",
        default=None,
        help="cpu, cuda or cuda:N (default: cuda when available, else cpu)",
    )
    run.add_argument(
        "--num-fewshot",
        type=int,
        default=None,
        help="few-shot examples per task (default: the paper's: MMLU 5, else 0)",
    )
    run.add_argument(
        "--local-data",
        default=None,
        metavar="FOLDER",
        help="folder of local copies, one subfolder per task (default: none)",
    )
    run.add_argument(
        "--skip-missing",
        action="store_true",
        help="skip (and list) tasks whose local data is missing instead of failing",
    )
    run.add_argument(
        "--data-dir",
        default=None,
        help="folder consulted for the other tasks (default: ../shared/evaldata when it exists)",
    )
    run.add_argument(
        "--local",
        nargs="*",
        default=[],
        metavar="TASK=PATH",
        help="local data for a task: a file, a folder or the folder of its splits (default: none)",
    )
    run.add_argument(
        "--converter",
        nargs="*",
        default=[],
        metavar="TASK=MODULE:FUNCTION",
        help="read a task's local files with your own function (default: the built-in layouts)",
    )
    run.add_argument("--out", default=None, help="CSV to write (default: print the table)")
    run.add_argument(
        "--no-fit-context",
        action="store_true",
        help="fail on documents longer than the model's context instead of skipping them",
    )
    tasks = sub.add_parser(
        "tasks",
        help="write local task YAMLs for `lm_eval --include_path DIR`",
        description="Convert and check local copies, then write task YAMLs that run them with lm_eval "
        "--include_path OUT (nothing is written when a task fails its check).",
        formatter_class=HelpFormatter,
    )
    tasks.add_argument(
        "--tasks",
        default=",".join(SHARED_EVALDATA_FOLDERS),
        help="comma-separated lm-eval tasks or groups, or table1/table4/table5",
    )
    tasks.add_argument("--out", required=True, help="folder to write the task YAMLs and converted data into")
    tasks.add_argument(
        "--local-data",
        default=None,
        metavar="FOLDER",
        help="folder of local copies, one subfolder per task (default: none)",
    )
    tasks.add_argument(
        "--data-dir",
        default=None,
        help="folder consulted for the other tasks (default: ../shared/evaldata when it exists)",
    )
    tasks.add_argument(
        "--local",
        nargs="*",
        default=[],
        metavar="TASK=PATH",
        help="local data for a task: a file, a folder or the folder of its splits (default: none)",
    )
    tasks.add_argument(
        "--converter",
        nargs="*",
        default=[],
        metavar="TASK=MODULE:FUNCTION",
        help="read a task's local files with your own function (default: the built-in layouts)",
    )
    tasks.add_argument(
        "--num-fewshot",
        type=int,
        default=None,
        help="few-shot examples the YAMLs declare (default: the paper's: MMLU 5, else 0)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        converters = _parse_pairs(args.converter, "--converter", "MODULE:FUNCTION")
        local = _parse_pairs(args.local, "--local", "PATH")
        if args.local_data and local:
            raise EvaluationError("give either --local-data FOLDER or --local TASK=PATH, not both")
        local_data = args.local_data or local
        if args.command == "run":
            limit = int(args.limit) if args.limit is not None and args.limit >= 1 else args.limit
            bs = args.batch_size
            bs = int(bs) if bs is not None and bs.isdigit() else bs
            table = evaluate(
                args.model,
                args.tasks,
                limit=limit,
                batch_size=bs,
                device=args.device,
                num_fewshot=args.num_fewshot,
                data_dir=args.data_dir,
                local_data=local_data,
                fit_context=not args.no_fit_context,
                sample=args.sample,
                seed=args.seed,
                strict=not args.skip_missing,
                converters=converters,
            )
            if args.out:
                print(f"wrote {write_results(table, args.out)}")
            else:
                print(table.to_string(index=False))
        else:
            names = expand_task_names(args.tasks)
            sources, missing = find_local_sources(names, args.data_dir, local_data)
            missing += [t for t in names if t not in sources and t not in missing]
            if missing:
                raise MissingData(
                    f"no local data for {missing} (use --local-data FOLDER, --data-dir or --local TASK=PATH)"
                )
            # Every task is converted and checked before any file is written: a bad one leaves nothing behind.
            prepared = [
                prepare_local(
                    t,
                    sources[t],
                    args.num_fewshot if args.num_fewshot is not None else default_shots(t),
                    converters,
                )
                for t in names
            ]
            for path in write_local(prepared, args.out):
                print(path)
            print(
                f"lm_eval --model hf --model_args pretrained=EXPORT_DIR --include_path {Path(args.out).resolve()} "
                f"--tasks {','.join(names)}"
            )
    except (EvaluationError, DataError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "build_parser",
    "NothingToEvaluate",
    "RESULT_COLUMNS",
    "SAMPLES",
    "Selection",
    "evaluate",
    "check_limit",
    "check_device",
    "expand_task_names",
    "select_documents",
    "fit_task_to_context",
    "longest_continuation",
    "write_results",
    "main",
    "register_converter",
    "define_group",
    # re-exported from .local for callers of the earlier single module
    "find_task_yaml",
    "official_task_config",
    "local_task_config",
    "write_local_task",
    "resolve_local_sources",
]
