"""Downstream evaluation through lm-evaluation-harness, the way the paper did it (Tables 1, 4 and 5).

A model is first exported to a Hugging Face directory (`hf.export_hf`) and evaluated by lm-eval's own `hf`
model on that directory, so `evaluate(...)` and the command line

    lm_eval --model hf --model_args pretrained=DIR --tasks piqa,arc_easy

run the same code path. Online, lm-eval downloads the official task data itself.

Offline (the Hub is unreachable here), any task can be pointed at a local copy of its data. The mechanism is
the same for every task: a small YAML written at run time `include:`s the installed official task YAML, so
prompts, targets, choices, filters and metrics are lm-eval's own, and only replaces the data source with
`dataset_path: json|csv|parquet|text` plus absolute `data_files` (lm-eval would resolve relative paths
against the current directory). A local source is
- a file in the official schema (used for the task's evaluation split),
- a folder holding one data file, or files named after the official splits (`train.jsonl`, `test.jsonl`...),
- a mapping {split: file}, or
- a file/folder in another layout for which a converter is registered in `CONVERTERS` (task name ->
  function returning the documents in the official schema); converted documents are cached as jsonl.
`evaluate(..., local_data={"piqa": "/path/to/piqa"})` uses it explicitly; tasks present in `data_dir`
(default: ../shared/evaldata, layout in its README) are picked up automatically.

Small models have short contexts (block_size 32-64 at the smoke/tiny scales) and lm-eval asserts that every
continuation it scores fits the model's context, so one long PIQA solution would fail the whole task. By
default (`fit_context=True`) the documents of loglikelihood-based tasks whose longest continuation (choice or
target, with the target delimiter, tokenized exactly as lm-eval's model tokenizes it) is longer than the
model's max_length are dropped BEFORE `limit` is applied: `limit=N` means N scored documents, the table's
`dropped` column counts the documents skipped to get them, and one line per task says so. This works on the
built lm-eval Task objects (the same for local and official tasks); rolling-loglikelihood tasks (wikitext)
window long documents themselves and are left untouched.

When every requested task is local, the TaskManager indexes only the generated YAMLs (include_defaults=False),
which saves the ~15 s lm-eval spends indexing its ~14k built-in task files.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError, EvaluationError
from ..io import atomic_write_text
from ..paths import runs_dir, shared_evaldata_dir
from .tasks import SHARED_EVALDATA_FOLDERS, TASK_FEWSHOT

_DATA_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text"}
_SPLIT_KEYS = ("training_split", "validation_split", "test_split")


# ------------------------------------------------------------------------------ lm-eval's task YAMLs


def lm_eval_tasks_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).resolve().parent / "tasks"


_NAME = r"""["']?([^\s"'#\[\]{}]+)["']?"""
_TASK_LINE = re.compile(r"""^["']?task["']?\s*:\s*""" + _NAME + r"\s*$", re.M)
_GROUP_LINE = re.compile(r"""^["']?group["']?\s*:\s*""" + _NAME + r"\s*$", re.M)
_TAG_BLOCK = re.compile(r"""^["']?tag["']?\s*:(.*(?:\n[ \t]*-[^\n]*)*)""", re.M)


@lru_cache(maxsize=1)
def _task_yaml_index() -> tuple[dict[str, Path], frozenset[str]]:
    """(task name -> built-in YAML defining it, every task/group/tag name), by a text scan.

    About 0.7 s, where lm-eval's own index parses all ~14k YAML files (~15 s); used to find the official
    definition of a task that runs on local data and to reject unknown names early.
    """
    index: dict[str, Path] = {}
    names: set[str] = set()
    for path in sorted(lm_eval_tasks_dir().rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _TASK_LINE.finditer(text):
            index.setdefault(match.group(1), path)
        names.update(m.group(1) for m in _GROUP_LINE.finditer(text))
        for block in _TAG_BLOCK.finditer(text):
            names.update(re.findall(r"[\w.\-]+", block.group(1)))
    return index, frozenset(names | set(index))


def find_task_yaml(task: str) -> Path:
    """The installed lm-eval YAML that defines `task` (one clear error for an unknown name)."""
    index, _ = _task_yaml_index()
    if task in index:
        return index[task]
    close = difflib.get_close_matches(task, list(index), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise EvaluationError(
        f"unknown lm-eval task {task!r}: no task YAML under {lm_eval_tasks_dir()} defines it{hint}"
    )


def official_task_config(task: str, resolve_functions: bool = False) -> dict[str, Any]:
    """The official task's config (includes merged), as lm-eval loads it."""
    try:  # lm-eval >= 0.4.10
        from lm_eval.tasks._yaml_loader import load_yaml

        return load_yaml(find_task_yaml(task), resolve_func=resolve_functions)
    except ImportError:  # older releases
        from lm_eval.utils import load_yaml_config

        mode = "full" if resolve_functions else "simple"
        return load_yaml_config(str(find_task_yaml(task)), mode=mode)


def eval_split(cfg: Mapping[str, Any]) -> str:
    """The split lm-eval evaluates: test if the task has one, else validation."""
    split = cfg.get("test_split") or cfg.get("validation_split")
    if not split:
        raise EvaluationError(f"task {cfg.get('task')!r} declares neither a test nor a validation split")
    return split


# ------------------------------------------------------------------------------------------ converters
# Each takes a local file or folder and returns the documents of the task's evaluation split in the schema
# of the official Hugging Face dataset, or None when the source is not in the layout it converts (then the
# generic rules apply: the source is taken to be in the official schema already).

Converter = Callable[[Path], "list[dict] | None"]


def _read_jsonl(path: Path) -> list[dict]:
    docs = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{line_no} is not valid JSON ({e.msg})") from None
    return docs


def _first_jsonl(path: Path, pattern: str = "*.jsonl") -> Path | None:
    if path.is_file():
        return path if path.suffix == ".jsonl" else None
    files = sorted(path.glob(pattern))
    return files[0] if len(files) == 1 else None


def convert_piqa_original(src: Path) -> list[dict] | None:
    """PIQA's original release (`valid.jsonl` + `valid-labels.lst`) -> official rows (goal, sol1, sol2, label)."""
    folder = src if src.is_dir() else src.parent
    labels_files = sorted(folder.glob("*-labels.lst"))
    if not labels_files:
        return None  # no separate labels: already in the official schema
    data_file = src if src.is_file() else folder / labels_files[0].name.replace("-labels.lst", ".jsonl")
    if not data_file.is_file():
        raise DataError(
            f"{data_file} is missing (PIQA labels file {labels_files[0]} has no matching data file)"
        )
    labels_file = folder / data_file.name.replace(".jsonl", "-labels.lst")
    if not labels_file.is_file():
        raise DataError(f"{labels_file} is missing (PIQA questions {data_file} come without their labels)")
    docs = _read_jsonl(data_file)
    labels = [line.strip() for line in labels_file.read_text().splitlines() if line.strip()]
    if len(labels) != len(docs):
        raise DataError(f"{labels_file} has {len(labels)} labels for {len(docs)} questions in {data_file}")
    return [
        {"goal": d["goal"], "sol1": d["sol1"], "sol2": d["sol2"], "label": int(y)}
        for d, y in zip(docs, labels)
    ]


def convert_arc_query_choices_gold(src: Path) -> list[dict] | None:
    """ARC in the converted {query: "Question: ...", choices, gold} layout -> ai2_arc rows.

    The original question ids and choice labels are not in that layout; ids become "local-<row>" and labels
    A, B, C, ... Neither is part of the prompt or the target, so what lm-eval scores is unchanged.
    """
    data_file = _first_jsonl(src)
    if data_file is None:
        return None
    docs = _read_jsonl(data_file)
    if not docs or not {"query", "choices", "gold"} <= set(docs[0]):
        return None
    rows = []
    for i, d in enumerate(docs):
        question = d["query"][len("Question: ") :] if d["query"].startswith("Question: ") else d["query"]
        labels = [chr(ord("A") + k) for k in range(len(d["choices"]))]
        rows.append(
            {
                "id": f"local-{i}",
                "question": question,
                "choices": {"text": list(d["choices"]), "label": labels},
                "answerKey": labels[int(d["gold"])],
            }
        )
    return rows


def convert_wikitext_raw(src: Path) -> list[dict] | None:
    """WikiText raw text (`wiki.test.raw`) -> EleutherAI/wikitext_document_level rows {page}.

    Pages are cut at top-level headings (" = Title = ") exactly as the document-level dataset does from the
    line-per-row HF wikitext; each row keeps its trailing newline and rows are joined with "\\n". Copies that
    lack the HF version's blank rows (../shared/evaldata) give pages with fewer newlines, so word perplexity
    differs slightly from lm-eval's on the original files (its README says so).
    """
    if src.is_dir():
        candidates = sorted(p for p in src.iterdir() if p.suffix in (".raw", ".tokens"))
        if len(candidates) != 1:
            return None
        src = candidates[0]
    elif src.suffix not in (".raw", ".tokens", ".txt"):
        return None
    text = src.read_text(encoding="utf-8")
    rows = [line + "\n" if line.strip() else "" for line in text.splitlines()]
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


# task -> converter for local layouts that differ from the official schema. Register more here.
CONVERTERS: dict[str, Converter] = {
    "piqa": convert_piqa_original,
    "arc_easy": convert_arc_query_choices_gold,
    "arc_challenge": convert_arc_query_choices_gold,
    "wikitext": convert_wikitext_raw,
}


# ------------------------------------------------------------------------------------ local task YAMLs


def _default_cache_dir() -> Path:
    return runs_dir() / "lm_eval_local"


def _file_digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p).encode())
        if p.is_file():
            with p.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def _write_jsonl_cached(docs: list[dict], cache_dir: Path, task: str, split: str, source: Path) -> Path:
    files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
    out = cache_dir / "data" / f"{task}-{_file_digest(files)}" / f"{split}.jsonl"
    if not out.is_file():
        atomic_write_text(out, "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    return out


def _data_files_from_source(
    task: str, source: Any, cfg: Mapping[str, Any], cache_dir: Path
) -> dict[str, Path]:
    """The local source of `task` as {split: absolute data file}, converting it first if needed."""
    split = eval_split(cfg)
    if isinstance(source, Mapping):
        files = {str(k): Path(v).expanduser().resolve() for k, v in source.items()}
    else:
        path = Path(source).expanduser().resolve()
        if not path.exists():
            raise DataError(f"local data for task {task!r} not found: {path}")
        converter = CONVERTERS.get(task)
        docs = converter(path) if converter is not None else None
        if docs is not None:
            if not docs:
                raise DataError(f"local data for task {task!r} at {path} holds no documents")
            return {split: _write_jsonl_cached(docs, cache_dir, task, split, path)}
        if path.is_file():
            files = {split: path}
        else:
            data = sorted(p for p in path.iterdir() if p.suffix in _DATA_SUFFIXES and p.is_file())
            declared = [cfg[k] for k in _SPLIT_KEYS if cfg.get(k)]
            by_name = {
                s: [p for p in data if p.stem == s or p.stem.endswith(f"_{s}") or p.stem.startswith(f"{s}_")]
                for s in declared
            }
            files = {s: ps[0] for s, ps in by_name.items() if len(ps) == 1}
            if not files and len(data) == 1:
                files = {split: data[0]}
            if split not in files:
                raise DataError(
                    f"local data for task {task!r}: {path} has no file for split {split!r} "
                    f"(found {[p.name for p in data]}; name it {split}.jsonl or pass {{split: file}})"
                )
    for s, f in files.items():
        if not f.is_file():
            raise DataError(f"local data file for task {task!r} split {s!r} not found: {f}")
        if f.suffix not in _DATA_SUFFIXES:
            raise DataError(
                f"local data file {f} has an unsupported type (use one of {sorted(_DATA_SUFFIXES)})"
            )
    if split not in files:
        raise DataError(
            f"local data for task {task!r} lacks its evaluation split {split!r} (got {sorted(files)})"
        )
    return files


def local_task_config(task: str, source: Any, cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The YAML dict that runs the official `task` on a local copy of its data (see the module docstring)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    official_yaml = find_task_yaml(task)
    cfg = official_task_config(task)
    if "class" in cfg or cfg.get("custom_dataset"):
        raise EvaluationError(
            f"task {task!r} builds its dataset in Python; point it at local data in its own way"
        )
    files = _data_files_from_source(task, source, cfg, cache_dir)
    builders = {_DATA_SUFFIXES[f.suffix] for f in files.values()}
    if len(builders) != 1:
        raise DataError(
            f"local data for task {task!r} mixes file types: {sorted(str(f) for f in files.values())}"
        )
    local: dict[str, Any] = {
        "include": str(official_yaml),
        "task": task,
        "dataset_path": builders.pop(),
        "dataset_name": None,
        "dataset_kwargs": {"data_files": {s: str(f) for s, f in files.items()}},
    }
    # Splits the local copy lacks must not be declared: lm-eval reads few-shot docs from them eagerly.
    for key in _SPLIT_KEYS:
        if cfg.get(key) and cfg[key] not in files:
            local[key] = None
    fewshot = cfg.get("fewshot_config")
    if isinstance(fewshot, dict) and fewshot.get("split") and fewshot["split"] not in files:
        local["fewshot_config"] = {k: v for k, v in fewshot.items() if k != "split"}
    return local


def write_local_task(
    task: str, source: Any, out_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Write `<out_dir>/<task>.yaml` (for lm_eval --include_path out_dir); returns its path."""
    import yaml

    cfg = local_task_config(task, source, cache_dir)
    path = Path(out_dir) / f"{task}.yaml"
    atomic_write_text(
        path,
        "# written by inheritune_core.evaluation: the official task on local data\n"
        + yaml.safe_dump(cfg, sort_keys=False),
    )
    return path


def resolve_local_sources(
    tasks: Sequence[str],
    data_dir: str | os.PathLike | None | bool = None,
    local_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """task -> local source for the tasks that have one: `local_data` first, then `data_dir`.

    data_dir: folder of local copies, one subfolder per task (named as in SHARED_EVALDATA_FOLDERS or after
    the task); None means shared_evaldata_dir() when it exists; False disables it (official data only).
    """
    sources: dict[str, Any] = {}
    local_data = dict(local_data or {})
    unknown = set(local_data) - set(tasks)
    if unknown:
        raise EvaluationError(f"local_data names tasks that were not requested: {sorted(unknown)}")
    if data_dir is None:
        data_dir = shared_evaldata_dir() if shared_evaldata_dir().is_dir() else False
    for task in tasks:
        if task in local_data:
            sources[task] = local_data[task]
        elif data_dir is not False:
            folder = Path(data_dir) / SHARED_EVALDATA_FOLDERS.get(task, task)
            if folder.exists():
                sources[task] = folder
    return sources


# ------------------------------------------------------------------------------------------ evaluate


RESULT_COLUMNS: tuple[str, ...] = ("task", "metric", "value", "stderr", "n", "dropped")


def _results_table(results: Mapping[str, Any], tasks: Sequence[str], dropped: Mapping[str, int]):
    import math

    import pandas as pd

    rows = []
    for task in tasks:
        metrics = results["results"].get(task)
        if metrics is None:
            raise EvaluationError(f"lm-eval returned no results for task {task!r}")
        n = results.get("n-samples", {}).get(task, {}).get("effective")
        for key, value in metrics.items():
            if "," not in key or "_stderr," in key or not isinstance(value, (int, float)):
                continue
            metric, filt = key.split(",", 1)
            stderr = metrics.get(f"{metric}_stderr,{filt}")
            stderr = float(stderr) if isinstance(stderr, (int, float)) else math.nan
            name = metric if filt == "none" else f"{metric},{filt}"
            rows.append(
                {
                    "task": task,
                    "metric": name,
                    "value": float(value),
                    "stderr": stderr,
                    "n": n,
                    "dropped": dropped.get(task, 0),
                }
            )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate(
    model_or_dir: Any,
    tasks: str | Sequence[str],
    limit: int | float | Mapping[str, int | float | None] | None = None,
    batch_size: int | str | None = None,
    device: str | None = None,
    num_fewshot: int | None = None,
    data_dir: str | os.PathLike | None | bool = None,
    local_data: Mapping[str, Any] | None = None,
    tokenizer: Any = None,
    export_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    bootstrap_iters: int = 1000,
    seed: int = 1234,
    fit_context: bool = True,
):
    """Evaluate a model with lm-evaluation-harness; returns a DataFrame (task, metric, value, stderr, n, dropped).

    model_or_dir: an exported Hugging Face directory, our GPT or a transformers model (exported first: to
        export_dir if given, else to a temporary folder removed afterwards).
    tasks: lm-eval task names (a comma-separated string works too); see TABLE1/4/5_TASKS.
    limit: evaluate the first `limit` documents of each task (a float in (0, 1): that fraction); a mapping
        gives each task its own limit (tasks it leaves out are evaluated in full).
    batch_size: default "auto" on CUDA (lm-eval finds the largest that fits), 8 on CPU.
    num_fewshot: None uses the paper's count per task (TASK_FEWSHOT, 0 elsewhere).
    data_dir / local_data: where local copies of task data live (see `resolve_local_sources`); tasks with no
        local copy use lm-eval's official definitions, which download their data (online only).
    bootstrap_iters: resamples for the stderr of perplexity-type metrics (lm-eval's default is 100000).
    fit_context: drop the documents of loglikelihood/multiple-choice tasks whose longest continuation does not
        fit the model's context, before `limit` applies (see `fit_task_to_context`); `n` is then the number of
        documents scored and `dropped` the number skipped to get them (all documents when there is no limit).
        False keeps lm-eval's behaviour: such a document fails its task with an EvaluationError.
    """
    import pandas as pd

    task_list = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
    if not task_list:
        raise EvaluationError("no tasks given")
    if len(set(task_list)) != len(task_list):
        raise EvaluationError(f"duplicate tasks in {task_list}")
    if isinstance(limit, Mapping) and set(limit) - set(task_list):
        raise EvaluationError(
            f"limit names tasks that were not requested: {sorted(set(limit) - set(task_list))}"
        )
    sources = resolve_local_sources(task_list, data_dir, local_data)
    official = [t for t in task_list if t not in sources]
    _, known = _task_yaml_index()
    for task in official:  # fail in a second, not after indexing every built-in task
        if task not in known:
            close = difflib.get_close_matches(task, list(known), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise EvaluationError(f"unknown lm-eval task {task!r}{hint}")
    device = device or _default_device()
    if batch_size is None:
        batch_size = "auto" if device.startswith("cuda") else 8

    with tempfile.TemporaryDirectory(prefix="inheritune-eval-") as tmp:
        model_dir = _model_directory(model_or_dir, tokenizer, export_dir, Path(tmp) / "model")
        yaml_dir = Path(tmp) / "tasks"
        for task in sources:
            write_local_task(task, sources[task], yaml_dir, cache_dir)
        task_manager = _task_manager(yaml_dir if sources else None, include_defaults=bool(official))
        for task in official:
            if task not in task_manager.all_tasks:
                close = difflib.get_close_matches(task, task_manager.all_tasks, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise EvaluationError(f"unknown lm-eval task {task!r}{hint}")
        lm = _hf_lm(model_dir, batch_size, device)
        groups: dict[tuple[int, Any], list[str]] = {}  # lm-eval takes one few-shot count and limit per call
        for task in task_list:
            shots = num_fewshot if num_fewshot is not None else TASK_FEWSHOT.get(task, 0)
            task_limit = limit.get(task) if isinstance(limit, Mapping) else limit
            groups.setdefault((shots, task_limit), []).append(task)
        frames = []
        for (shots, task_limit), group in groups.items():
            specs: list[Any] = list(group)
            dropped: dict[str, int] = {}
            if fit_context:
                specs, dropped = _load_fitted_tasks(lm, group, task_manager, task_limit)
            results = _run_lm_eval(lm, group, task_manager, shots, task_limit, bootstrap_iters, seed, specs)
            frames.append(_results_table(results, group, dropped))
    table = pd.concat(frames, ignore_index=True)
    table.attrs["data_source"] = {t: (str(sources[t]) if t in sources else "official") for t in task_list}
    return table


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


def _run_lm_eval(
    lm,
    tasks: list[str],
    task_manager,
    num_fewshot: int,
    limit,
    bootstrap_iters: int,
    seed: int,
    specs: Sequence[Any] | None = None,
) -> dict:
    """lm-eval's simple_evaluate on `specs` (task names or built Task/Group objects; default: `tasks`)."""
    from lm_eval import simple_evaluate

    t0 = time.perf_counter()
    try:
        results = simple_evaluate(
            model=lm,
            tasks=list(specs if specs is not None else tasks),
            num_fewshot=num_fewshot,
            limit=limit,
            task_manager=task_manager,
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
            f"a document of {tasks} does not fit the model's context window; evaluate a model with a longer "
            "block_size (n_positions)"
        ) from e
    except (FileNotFoundError, ConnectionError, OSError) as e:
        raise EvaluationError(
            f"lm-eval could not load data for {tasks}: {type(e).__name__}: {e}".splitlines()[0]
        ) from e
    if results is None:
        raise EvaluationError("lm-eval returned no results (non-zero rank process?)")
    results["wall_time_s"] = time.perf_counter() - t0
    return results


# ------------------------------------------------------------------------- fitting the model's context

# Output types whose requests lm-eval scores with `loglikelihood`, asserting continuation length <= max_length.
_LOGLIKELIHOOD_TYPES = ("loglikelihood", "multiple_choice")


def _continuation_tokens(lm, context: str, continuation: str) -> int:
    """How many tokens lm-eval scores for (context, continuation), tokenized as its `LM.loglikelihood` does."""
    if (
        context == ""
    ):  # lm-eval conditions on the prefix (BOS/EOS) token, or on the continuation's first token
        enc = lm.tok_encode(continuation, add_special_tokens=False)
        return len(enc) if not enc or lm.prefix_token_id != enc[0] else len(enc) - 1
    _, continuation_enc = lm._encode_pair(context, continuation)
    return len(continuation_enc)


@contextmanager
def _compiled_templates_cached():
    """Let lm-eval's `utils.apply_template` reuse each compiled Jinja template while documents are scanned.

    lm-eval compiles a task's doc_to_text/target/choice template anew for every document (~2 ms each, 80% of
    the scan's time); rendering with a cached compile of the same template in the same Environment gives
    the same strings. Scoped to the scan: lm-eval's own function is restored afterwards.
    """
    from lm_eval import utils

    original = utils.apply_template
    compile_template = lru_cache(maxsize=256)(utils.env.from_string)
    utils.apply_template = lambda template, doc: compile_template(template).render(**doc)
    try:
        yield
    finally:
        utils.apply_template = original


def longest_continuation(task, doc: Mapping[str, Any], lm) -> int:
    """The longest continuation (in `lm`'s tokens) among the loglikelihood requests `task` builds for `doc`.

    The requests come from the task's own `construct_requests` on its 0-shot context: the continuation's
    tokens depend only on the end of the context (the document's own prompt), which few-shot examples and a
    description only prepend to, and building few-shot contexts here would consume the sampler's RNG.
    """
    from lm_eval.api.task import ConfigurableTask

    extra = {"gen_prefix": task.doc_to_prefix(doc)} if isinstance(task, ConfigurableTask) else {}
    ctx = task.fewshot_context(doc, num_fewshot=0, **extra)
    requests = task.construct_requests(doc=doc, ctx=ctx, metadata=(task.task_name, 0, 1))
    requests = requests if isinstance(requests, list) else [requests]
    return max(
        (
            _continuation_tokens(lm, *req.arguments[:2])
            for req in requests
            if req.request_type == "loglikelihood"
        ),
        default=0,
    )


def fit_task_to_context(task, lm, limit: int | float | None = None) -> tuple[int, int, int]:
    """Keep only the documents of `task` whose continuations all fit `lm.max_length`; returns (kept, dropped, longest).

    The task object is changed in place: the method its `eval_docs` reads (test_docs or validation_docs) is
    replaced on the instance by one returning the kept documents, so lm-eval's `limit`, request building and
    metrics then see only those (few-shot examples still come from the untouched dataset). With an integer
    `limit`, documents are examined in order only until `limit` of them fit: `dropped` counts the documents
    skipped on the way. Tasks of other output types (rolling loglikelihood, generation) are left as they are.
    """
    if getattr(task, "OUTPUT_TYPE", None) not in _LOGLIKELIHOOD_TYPES:
        return len(task.eval_docs), 0, 0
    max_length = int(lm.max_length)
    docs = task.eval_docs
    enough = int(limit) if limit is not None and limit >= 1 else None
    kept: list[int] = []
    dropped, longest = 0, 0
    with _compiled_templates_cached():
        for index, doc in enumerate(docs):
            if enough is not None and len(kept) >= enough:
                break
            length = longest_continuation(task, doc, lm)
            if length <= max_length:
                kept.append(index)
            else:
                dropped += 1
                longest = max(longest, length)
    if dropped:
        fitted = docs.select(kept) if hasattr(docs, "select") else [docs[i] for i in kept]
        source = "test_docs" if task.has_test_docs() else "validation_docs"
        setattr(task, source, lambda: fitted)  # instance attribute shadows the method: eval_docs uses it
    return len(kept), dropped, longest


def _load_fitted_tasks(lm, tasks: list[str], task_manager, limit) -> tuple[list[Any], dict[str, int]]:
    """Build `tasks` (names, groups, tags) with lm-eval's TaskManager and fit every leaf task to the context.

    Returns the top-level Task/Group objects for simple_evaluate (which accepts built objects as well as
    names) and {task: documents dropped}, groups summing their leaves.
    """
    loaded = task_manager.load(tasks)
    dropped: dict[str, int] = {}
    max_length = int(lm.max_length)
    for name, task in loaded["tasks"].items():
        kept, n_dropped, longest = fit_task_to_context(task, lm, limit)
        dropped[name] = n_dropped
        if kept == 0:
            raise EvaluationError(
                f"no document of task {name!r} fits the model's context of {max_length} tokens "
                f"({n_dropped} documents examined)"
            )
        if n_dropped:
            print(
                f"{name}: dropped {n_dropped} of {kept + n_dropped} documents examined: a continuation is longer "
                f"than the model's context of {max_length} tokens (longest {longest}); scoring {kept}"
            )
        elif getattr(task, "OUTPUT_TYPE", None) in _LOGLIKELIHOOD_TYPES:
            print(
                f"{name}: every one of the {kept} documents examined fits the model's context of {max_length} tokens"
            )
    children = {
        id(child)
        for group in loaded["groups"].values()
        for child in group.get_all_tasks(recursive=False) + group.get_all_groups(recursive=False)
    }
    for name, group in loaded["groups"].items():
        dropped[name] = sum(dropped.get(t.task_name, 0) for t in group.get_all_tasks())
    top = [g for g in loaded["groups"].values() if id(g) not in children]
    top += [t for t in loaded["tasks"].values() if id(t) not in children]
    return top, dropped


def write_results(table, path: str | os.PathLike) -> Path:
    """Write an evaluation table as CSV, atomically (notebooks keep their numbers under results/)."""
    path = Path(path)
    atomic_write_text(path, table.to_csv(index=False))
    return path


# -------------------------------------------------------------------------------------------------- CLI


def _parse_local(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise EvaluationError(f"--local expects TASK=PATH, got {item!r}")
        task, path = item.split("=", 1)
        out[task] = path
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.evaluation", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate an exported Hugging Face model directory")
    run.add_argument("--model", required=True, help="exported Hugging Face directory (see hf.export_hf)")
    run.add_argument("--tasks", required=True, help="comma-separated lm-eval task names")
    run.add_argument("--limit", type=float, default=None)
    run.add_argument("--batch-size", default=None)
    run.add_argument("--device", default=None)
    run.add_argument("--num-fewshot", type=int, default=None)
    run.add_argument(
        "--data-dir", default=None, help="folder of local task data (default ../shared/evaldata)"
    )
    run.add_argument("--local", nargs="*", default=[], metavar="TASK=PATH", help="local data for a task")
    run.add_argument("--out", default=None, help="CSV to write (default: print)")
    run.add_argument(
        "--no-fit-context",
        action="store_true",
        help="fail on documents longer than the model's context instead of dropping them",
    )
    tasks = sub.add_parser("tasks", help="write local task YAMLs for `lm_eval --include_path DIR`")
    tasks.add_argument("--tasks", default=",".join(SHARED_EVALDATA_FOLDERS))
    tasks.add_argument("--out", required=True)
    tasks.add_argument("--data-dir", default=None)
    tasks.add_argument("--local", nargs="*", default=[], metavar="TASK=PATH")
    args = parser.parse_args(argv)
    try:
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
                local_data=_parse_local(args.local),
                fit_context=not args.no_fit_context,
            )
            if args.out:
                print(f"wrote {write_results(table, args.out)}")
            else:
                print(table.to_string(index=False))
        else:
            names = [t for t in args.tasks.split(",") if t]
            sources = resolve_local_sources(names, args.data_dir, _parse_local(args.local))
            missing = [t for t in names if t not in sources]
            if missing:
                raise EvaluationError(f"no local data for {missing} (use --data-dir or --local TASK=PATH)")
            for task, source in sources.items():
                print(write_local_task(task, source, args.out))
            print(
                f"lm_eval --model hf --model_args pretrained=EXPORT_DIR --include_path {Path(args.out).resolve()} "
                f"--tasks {','.join(names)}"
            )
    except (EvaluationError, DataError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "CONVERTERS",
    "evaluate",
    "find_task_yaml",
    "official_task_config",
    "local_task_config",
    "write_local_task",
    "resolve_local_sources",
    "write_results",
    "convert_piqa_original",
    "convert_arc_query_choices_gold",
    "convert_wikitext_raw",
    "RESULT_COLUMNS",
    "fit_task_to_context",
    "longest_continuation",
]
