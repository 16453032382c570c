"""Official lm-eval tasks and groups on local copies of their data: the task index, the schema check, the YAMLs.

The mechanism is the same for every task: a small YAML written at run time `include:`s the installed official
task YAML, so prompts, targets, choices, filters and metrics are lm-eval's own, and only replaces the data
source with `dataset_path: json` and absolute `data_files` holding the local copy converted to the official
documents (`converters`). A group (MMLU) gets one such YAML per subtask plus copies of its group YAMLs, so lm-eval
builds the group as it would online.

Before anything is written, the first document of every split is rendered through the task's own `doc_to_text`
/ `doc_to_target` / `doc_to_choice` (after its `process_docs`): a copy in the wrong layout fails here, with one
DataError naming the task, the missing fields, the fields of the official dataset and of the file, and the fix
-- not later, inside lm-eval, as a jinja2 UndefinedError or a bare KeyError.

A local source is a file, a folder (split files found by name, see converters.match_split), or {split: file}.
`find_local_sources` finds them in a folder of copies (one subfolder per task), the way `evaluate(...,
local_data="folder")` and the command line's `--local-data` use it.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError, EvaluationError
from ..io import atomic_write_text
from ..paths import runs_dir, shared_evaldata_dir
from .converters import (
    USER_CONVERTERS,
    ConvertContext,
    LocalSplit,
    convert_split,
    dataset_key,
    layouts_for,
    match_subset,
    official_schema,
    register_converter,
    split_local_files,
    validate_docs,
)
from .tasks import LOCAL_FOLDER_NAMES, SHARED_EVALDATA_FOLDERS, TASK_FEWSHOT

_SPLIT_KEYS = ("training_split", "validation_split", "test_split")


class MissingData(DataError):
    """Local data a task needs is absent (no folder, a split or a group's subtask missing): `evaluate(...,
    strict=False)` skips such a task and lists it; any other DataError (a wrong layout) always stops."""


# ------------------------------------------------------------------------------------ lm-eval's task YAMLs


def lm_eval_tasks_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).resolve().parent / "tasks"


_NAME = r"""["']?([^\s"'#\[\]{}]+)["']?"""
_TASK_LINE = re.compile(r"""^["']?task["']?\s*:\s*""" + _NAME + r"\s*$", re.M)
_GROUP_LINE = re.compile(r"""^["']?group["']?\s*:\s*""" + _NAME + r"\s*$", re.M)
_TAG_BLOCK = re.compile(r"""^["']?tag["']?\s*:(.*(?:\n[ \t]*-[^\n]*)*)""", re.M)


@dataclass(frozen=True)
class YamlIndex:
    tasks: dict[str, Path]
    groups: dict[str, Path]
    tags: dict[str, tuple[str, ...]]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.tasks) | frozenset(self.groups) | frozenset(self.tags)


@lru_cache(maxsize=1)
def yaml_index() -> YamlIndex:
    """Tasks, groups and tags of the installed lm-eval, by a text scan of its YAML files.

    About 0.7 s, where lm-eval's own index parses all ~14k YAML files (~15 s); used to find the official
    definition of a task or group that runs on local data and to reject unknown names early.
    """
    tasks: dict[str, Path] = {}
    groups: dict[str, Path] = {}
    tags: dict[str, list[str]] = {}
    for path in sorted(lm_eval_tasks_dir().rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        file_tasks = [m.group(1) for m in _TASK_LINE.finditer(text)]
        for name in file_tasks:
            tasks.setdefault(name, path)
        for m in _GROUP_LINE.finditer(text):
            groups.setdefault(m.group(1), path)
        for block in _TAG_BLOCK.finditer(text):
            for tag in re.findall(r"[\w.\-]+", block.group(1)):
                tags.setdefault(tag, []).extend(file_tasks)
    return YamlIndex(tasks, groups, {k: tuple(dict.fromkeys(v)) for k, v in tags.items()})


def _task_yaml_index() -> tuple[dict[str, Path], frozenset[str]]:
    """(task name -> YAML, every task/group/tag name): the index in its earlier shape."""
    index = yaml_index()
    return index.tasks, index.names


def _unknown(name: str, what: str = "task") -> EvaluationError:
    close = difflib.get_close_matches(name, list(yaml_index().names), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return EvaluationError(
        f"unknown lm-eval {what} {name!r}: no task YAML under {lm_eval_tasks_dir()} defines it{hint}"
    )


def find_task_yaml(task: str) -> Path:
    """The installed lm-eval YAML that defines `task` (a task or a group; one clear error for an unknown name)."""
    index = yaml_index()
    if task in index.tasks:
        return index.tasks[task]
    if task in index.groups:
        return index.groups[task]
    raise _unknown(task)


def official_task_config(task: str, resolve_functions: bool = False) -> dict[str, Any]:
    """The official task's (or group's) config, includes merged, as lm-eval loads it."""
    return _load_yaml(find_task_yaml(task), resolve_functions)


def _load_yaml(path: Path, resolve_functions: bool) -> dict[str, Any]:
    # a copy: callers build their own configs from it (functions are shared, not copied)
    return copy.deepcopy(_load_yaml_cached(path, resolve_functions))


@lru_cache(maxsize=512)
def _load_yaml_cached(path: Path, resolve_functions: bool) -> dict[str, Any]:
    """The installed YAMLs do not change while the package runs; MMLU's 57 subtasks are read several times."""
    try:  # lm-eval >= 0.4.10
        from lm_eval.tasks._yaml_loader import load_yaml

        return load_yaml(path, resolve_func=resolve_functions)
    except ImportError:  # older releases
        from lm_eval.utils import load_yaml_config

        return load_yaml_config(str(path), mode="full" if resolve_functions else "simple")


# Groups defined from Python (define_group): name -> the lm-eval group config written next to the tasks' YAMLs.
USER_GROUPS: dict[str, dict[str, Any]] = {}
_USER_GROUP_SHOTS: dict[str, int] = {}


def define_group(
    name: str,
    tasks: Sequence[str],
    *,
    shots: int | None = None,
    metrics: Sequence[str] = ("acc",),
    weight_by_size: bool = True,
) -> str:
    """Declare an lm-eval group of existing tasks (say two MMLU subjects); returns its name for `evaluate`.

    Its rows are aggregated as lm-eval aggregates an official group (size-weighted mean by default); `shots`
    is its few-shot count (None: each task's own default, e.g. 5 for MMLU subjects); local data is found per
    subtask as for an official group.
    """
    if name in yaml_index().names:
        raise EvaluationError(f"{name!r} is already an lm-eval task, group or tag; pick another group name")
    members = list(tasks)
    if not members or len(set(members)) != len(members):
        raise EvaluationError(f"group {name!r} needs distinct tasks, got {members}")
    for task in members:
        kind_of(task)
    USER_GROUPS[name] = {
        "group": name,
        "task": members,
        "aggregate_metric_list": [{"metric": m, "weight_by_size": weight_by_size} for m in metrics],
        "metadata": {"version": 1.0},
    }
    if shots is not None:
        _USER_GROUP_SHOTS[name] = shots
    else:
        _USER_GROUP_SHOTS.pop(name, None)
    return name


def kind_of(name: str) -> str:
    """ "task", "group" or "tag" (one clear error for an unknown name)."""
    index = yaml_index()
    if name in USER_GROUPS:
        return "group"
    if name in index.tasks:
        return "task"
    if name in index.groups:
        return "group"
    if name in index.tags:
        return "tag"
    raise _unknown(name)


def group_config(group: str) -> dict[str, Any]:
    """A group's config: a group defined with define_group, else lm-eval's YAML."""
    return dict(USER_GROUPS[group]) if group in USER_GROUPS else official_task_config(group)


def group_children(group: str) -> list[str]:
    """The direct members of a group (tags expanded to their tasks), in the group YAML's order."""
    cfg = group_config(group)
    entries = cfg.get("task") or []
    out: list[str] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, str):
            raise EvaluationError(
                f"group {group!r} defines a task inline in its YAML; it cannot run on local data"
            )
        kind = kind_of(entry)
        out.extend(yaml_index().tags[entry] if kind == "tag" else [entry])
    return out


def group_leaves(group: str) -> list[str]:
    """Every task under a group, through its subgroups, in order."""
    out: list[str] = []
    for child in group_children(group):
        for leaf in group_leaves(child) if kind_of(child) == "group" else [child]:
            if leaf not in out:
                out.append(leaf)
    return out


def group_tree(group: str) -> list[str]:
    """The group and every subgroup under it."""
    out = [group]
    for child in group_children(group):
        if kind_of(child) == "group":
            out += [g for g in group_tree(child) if g not in out]
    return out


def default_shots(name: str) -> int:
    """The paper's few-shot count for a task or group (TASK_FEWSHOT); a subtask gets its group's (MMLU: 5)."""
    if name in _USER_GROUP_SHOTS:
        return _USER_GROUP_SHOTS[name]
    if name in TASK_FEWSHOT:
        return TASK_FEWSHOT[name]
    if name in USER_GROUPS:  # a group of its own: its tasks' count when they agree (two MMLU subjects: 5)
        counts = {default_shots(t) for t in group_leaves(name)}
        return counts.pop() if len(counts) == 1 else 0
    for group, shots in TASK_FEWSHOT.items():
        if kind_of(group) == "group" and name in group_leaves(group) + group_tree(group):
            return shots
    return 0


def eval_split(cfg: Mapping[str, Any]) -> str:
    """The split lm-eval evaluates: test if the task has one, else validation."""
    split = cfg.get("test_split") or cfg.get("validation_split")
    if not split:
        raise EvaluationError(f"task {cfg.get('task')!r} declares neither a test nor a validation split")
    return split


def declared_fewshot_split(cfg: Mapping[str, Any]) -> str | None:
    fewshot = cfg.get("fewshot_config")
    return cfg.get("fewshot_split") or (fewshot.get("split") if isinstance(fewshot, Mapping) else None)


def declared_splits(cfg: Mapping[str, Any]) -> list[str]:
    splits = [cfg[k] for k in _SPLIT_KEYS if cfg.get(k)]
    fs = declared_fewshot_split(cfg)
    return list(dict.fromkeys(splits + ([fs] if fs else [])))


# ------------------------------------------------------------------------------------------- schema check


def _jinja_fields(template: Any) -> set[str]:
    """The document fields a jinja template reads (empty for a function or a constant)."""
    if not isinstance(template, str):
        return set()
    from jinja2 import meta
    from lm_eval.utils import env

    try:
        return set(meta.find_undeclared_variables(env.parse(template))) - set(env.globals)
    except Exception:  # not a template (a plain field name or text): nothing to report
        return set()


def render_doc(cfg: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    """A document rendered as lm-eval renders it: {"doc" (after process_docs), "text", "target", "choices"}.

    Uses lm-eval's own ConfigurableTask.doc_to_text/target/choice on the resolved official config, so field
    lookups, templates and literal parsing are exactly lm-eval's.
    """
    from types import SimpleNamespace

    from lm_eval.api.task import ConfigurableTask

    process = cfg.get("process_docs")
    if callable(process):
        import datasets
        from datasets.utils import logging as ds_logging

        shown = ds_logging.is_progress_bar_enabled()
        ds_logging.disable_progress_bar()  # a one-document map needs no progress bar
        try:
            doc = dict(process(datasets.Dataset.from_list([dict(doc)]))[0])
        finally:
            if shown:
                ds_logging.enable_progress_bar()
    conf = SimpleNamespace(
        doc_to_text=cfg.get("doc_to_text"),
        doc_to_target=cfg.get("doc_to_target"),
        doc_to_choice=cfg.get("doc_to_choice"),
        fewshot_delimiter=cfg.get("fewshot_delimiter", "\n\n"),
    )
    stand_in = SimpleNamespace(prompt=None, config=conf, _config=conf, features=list(doc))
    out: dict[str, Any] = {"doc": doc, "text": None, "target": None, "choices": None}
    if conf.doc_to_text is not None:
        out["text"] = ConfigurableTask.doc_to_text(stand_in, doc)
    if conf.doc_to_target is not None:
        out["target"] = ConfigurableTask.doc_to_target(stand_in, doc)
    if conf.doc_to_choice is not None:
        out["choices"] = ConfigurableTask.doc_to_choice(stand_in, doc)
    return out


def _render_problem(cfg: Mapping[str, Any], rendered: Mapping[str, Any]) -> str | None:
    """What lm-eval could not score in a rendered document (a gold index out of range...), or None."""
    choices, target, text = rendered["choices"], rendered["target"], rendered["text"]
    if cfg.get("output_type") != "multiple_choice":
        return None
    if not isinstance(choices, list) or not choices:
        return f"doc_to_choice gave {choices!r}, not a list of choices"
    if isinstance(text, int):  # Winograd style: the text is the gold index among alternative contexts
        return (
            None
            if 0 <= text < len(choices)
            else f"the gold index {text} is out of range for {len(choices)} choices"
        )
    if isinstance(target, int) and not isinstance(target, bool):
        return (
            None
            if 0 <= target < len(choices)
            else f"the gold index {target} is out of range for {len(choices)} choices"
        )
    if isinstance(target, str) and target not in choices:
        return f"the target {target!r} is not one of the choices {choices!r}"
    return None


def check_schema(
    task: str, cfg: Mapping[str, Any], doc: Mapping[str, Any], *, origin: str, layout: str, dataset: str
) -> None:
    """Render `doc` through the task's own templates; one DataError if a field is missing or the gold is unusable.

    cfg: the official config with functions resolved. The message names the task, the missing fields, the
    official dataset's fields, the file's fields, and the fix.
    """
    try:
        rendered = render_doc(cfg, doc)
        problem = _render_problem(cfg, rendered)
        missing: set[str] = set()
    except (KeyError, NameError) as e:
        missing = {str(e.args[0]).strip("'\"")} if e.args else set()
        problem = None
    except Exception as e:  # jinja2's UndefinedError, a TypeError inside a task's own function...
        found = re.findall(r"'(\w+)' is undefined", str(e))
        missing = set(found)
        problem = None if found else f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    for key in ("doc_to_text", "doc_to_target", "doc_to_choice"):
        missing |= _jinja_fields(cfg.get(key)) - set(doc)
    schema = official_schema(dataset)
    if schema is not None:  # a bare field name (doc_to_target: label) renders as its own text when absent
        missing |= schema.required - set(doc)
    if not missing and not problem:
        return
    official = (
        list(schema.fields)
        if schema
        else sorted(
            set().union(
                *(_jinja_fields(cfg.get(k)) for k in ("doc_to_text", "doc_to_target", "doc_to_choice"))
            )
        )
    )
    known = [layout.name for layout in layouts_for(dataset)]
    fix = (
        f"convert the data to the official schema {official}"
        + (f" or use a layout the package converts ({'; '.join(known)})" if known else "")
        + f", or register a converter (register_converter({task!r}, fn) / --converter {task}=module:function)"
    )
    what = f"missing field(s) {sorted(missing)}" if missing else problem
    raise DataError(
        f"task {task!r}: local data {origin} (read as: {layout}) does not fit the task's prompt: {what}; "
        f"the official dataset has {official}; the file gives {sorted(doc)}; fix: {fix}"
    )


def check_template_fields(
    task: str, cfg: Mapping[str, Any], docs: Sequence[Mapping[str, Any]], origin: str
) -> None:
    """For a dataset without a known schema: no field the task's templates read may be null in any document
    (a null renders as the text "None" and is scored without a word)."""
    fields = set().union(
        *(_jinja_fields(cfg.get(k)) for k in ("doc_to_text", "doc_to_target", "doc_to_choice"))
    )
    for i, doc in enumerate(docs):
        null = sorted(f for f in fields if f in doc and doc[f] is None)
        if null:
            raise DataError(
                f"task {task!r}: {origin}: document {i}: field(s) {null} are null; the task's prompt reads them"
            )


# ----------------------------------------------------------------------------------------- local sources


def _subfolder(folder: Path, name: str) -> Path | None:
    """The subfolder (or file) of `folder` holding task `name`'s copy: the task name, the shared-data folder
    name or a common alias (LOCAL_FOLDER_NAMES), matched case-insensitively."""
    if not folder.is_dir():
        return None
    wanted = [name, SHARED_EVALDATA_FOLDERS.get(name, name), *LOCAL_FOLDER_NAMES.get(name, ())]
    entries = {p.name.lower(): p for p in sorted(folder.iterdir()) if not p.name.startswith(".")}
    stems = {
        p.stem.lower(): p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")
    }
    for w in wanted:
        if w.lower() in entries:
            return entries[w.lower()]
        if w.lower() in stems:
            return stems[w.lower()]
    return None


def find_local_sources(
    names: Sequence[str],
    data_dir: str | os.PathLike | None | bool = None,
    local_data: str | os.PathLike | Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(task -> local source, tasks an explicit folder of copies lacks).

    local_data: a folder of copies, one subfolder per task (each task must be there: the caller fails, or with
    strict=False skips, the ones listed as missing), or {task: file | folder | {split: file}}.
    data_dir: a folder consulted for the tasks local_data does not cover; None means ../shared/evaldata when it
    exists; False none. Tasks found in neither use lm-eval's official data (downloaded; online only).
    """
    sources: dict[str, Any] = {}
    missing: list[str] = []
    if isinstance(local_data, (str, os.PathLike)):
        folder = Path(local_data).expanduser().resolve()
        if not folder.is_dir():
            raise MissingData(f"local data folder {folder} does not exist")
        for name in names:
            found = _subfolder(folder, name)
            if found is None:
                missing.append(name)
            else:
                sources[name] = found
        return sources, missing
    mapping = dict(local_data or {})
    unknown = set(mapping) - set(names)
    if unknown:
        raise EvaluationError(f"local_data names tasks that were not requested: {sorted(unknown)}")
    if data_dir is None:
        data_dir = shared_evaldata_dir() if shared_evaldata_dir().is_dir() else False
    for name in names:
        if name in mapping:
            sources[name] = mapping[name]
        elif data_dir is not False:
            found = _subfolder(Path(data_dir), name)
            if found is not None:
                sources[name] = found
    return sources, missing


def resolve_local_sources(
    tasks: Sequence[str],
    data_dir: str | os.PathLike | None | bool = None,
    local_data: str | os.PathLike | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """task -> local source for the tasks that have one (see find_local_sources)."""
    return find_local_sources(tasks, data_dir, local_data)[0]


# -------------------------------------------------------------------------------------- preparing a task


@dataclass
class LocalLeaf:
    """One lm-eval task on local data: its YAML (data files filled in on writing) and converted splits."""

    task: str
    yaml: dict[str, Any]
    splits: dict[str, LocalSplit]


@dataclass
class LocalTask:
    """A requested task or group, prepared from a local source: converted, checked, nothing written yet."""

    name: str
    source: str
    leaves: list[LocalLeaf]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # group -> its official group config
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return all(s.exact for leaf in self.leaves for s in leaf.splits.values())

    def describe(self) -> str:
        layouts = sorted({s.layout for leaf in self.leaves for s in leaf.splits.values()})
        inexact = sorted({s.note for leaf in self.leaves for s in leaf.splits.values() if s.note})
        return (
            f"{self.source} ({'; '.join(layouts)}{'; not exact: ' + '; '.join(inexact) if inexact else ''})"
        )


def _split_source(
    task: str,
    source: Any,
    cfg: Mapping[str, Any],
    subset: str | None,
    subsets: Mapping[str, Sequence[str]] | None,
) -> tuple[dict[str, list[Path]], list[str], bool, str]:
    """({split: files}, notes, files-hold-all-subsets, description) of one task's (or subtask's) source."""
    if isinstance(source, Mapping):
        files = {str(s): [Path(f).expanduser().resolve()] for s, f in source.items()}
        for s, fs in files.items():
            if not fs[0].is_file():
                raise MissingData(f"local data file for task {task!r} split {s!r} not found: {fs[0]}")
        return files, [], False, ", ".join(f"{s}={fs[0]}" for s, fs in files.items())
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise MissingData(f"local data for task {task!r} not found: {path}")
    files, notes = split_local_files(task, path, declared_splits(cfg), eval_split(cfg), subset, subsets)
    shared = False
    if subset is not None:
        root = path if path.is_dir() else path.parent
        shared = any(
            match_subset(f, root, subsets or {subset: ()}) != subset for fs in files.values() for f in fs
        )
    return files, notes, shared, str(path)


def prepare_leaf(
    task: str,
    source: Any,
    shots: int,
    *,
    subset: str | None = None,
    subsets: Mapping[str, Sequence[str]] | None = None,
    converter_names: Sequence[str] = (),
) -> tuple[LocalLeaf, list[str], str]:
    """Convert and check one lm-eval task's local data; returns (leaf, notes, source description).

    subset: for a group's subtask, its subset (MMLU's subject: the official dataset_name); subsets: every
    subtask's subset -> the other names its files may go by (see converters.match_subset).
    """
    cfg = official_task_config(task)
    if "class" in cfg or cfg.get("custom_dataset"):
        raise EvaluationError(
            f"task {task!r} builds its dataset in Python; point it at local data in its own way"
        )
    key = dataset_key(cfg.get("dataset_path"), cfg.get("dataset_name"))
    split_files, notes, shared, described = _split_source(task, source, cfg, subset, subsets)
    target = eval_split(cfg)
    if target not in split_files:
        found = sorted({f.name for fs in split_files.values() for f in fs})
        raise MissingData(
            f"local data for task {task!r}{f' (subset {subset!r})' if subset else ''} at {described} "
            f"has no file for its evaluation split {target!r} (found {found or 'no data files'}; "
            f"name it {target}.jsonl or pass {{split: file}})"
        )
    if shots > 0:
        fs_split = declared_fewshot_split(cfg)
        if fs_split and fs_split not in split_files:
            raise MissingData(
                f"task {task!r} takes its {shots}-shot examples from split {fs_split!r}, which the local "
                f"copy at {described} lacks (found {sorted(split_files)}); add it, or pass num_fewshot=0"
            )
    resolved = official_task_config(task, resolve_functions=True)
    splits: dict[str, LocalSplit] = {}
    for split, files in split_files.items():
        ctx = ConvertContext(task, key, cfg.get("dataset_name"), split, subset)
        local = convert_split(files, ctx, converter_names, shared=shared, validate=False)
        local.split = split
        origin = ", ".join(str(f) for f in files) + (f" (subset {subset!r})" if subset else "")
        # the first document through the task's own templates (the full diagnosis), then every document's gold
        check_schema(task, resolved, local.docs[0], origin=origin, layout=local.layout, dataset=key)
        validate_docs(local.docs, ctx, origin)
        if official_schema(key) is None:  # validate_docs checked the types of a known dataset's fields
            check_template_fields(task, resolved, local.docs, origin)
        splits[split] = local
    yaml_cfg: dict[str, Any] = {
        "include": str(find_task_yaml(task)),
        "task": task,
        "dataset_path": "json",
        "dataset_name": None,
    }
    # Splits the local copy lacks must not be declared: lm-eval reads few-shot docs from them eagerly.
    for k in _SPLIT_KEYS:
        if cfg.get(k) and cfg[k] not in splits:
            yaml_cfg[k] = None
    fewshot = cfg.get("fewshot_config")
    if isinstance(fewshot, dict) and fewshot.get("split") and fewshot["split"] not in splits:
        yaml_cfg["fewshot_config"] = {k: v for k, v in fewshot.items() if k != "split"}
    if cfg.get("fewshot_split") and cfg["fewshot_split"] not in splits:
        yaml_cfg["fewshot_split"] = None
    return LocalLeaf(task, yaml_cfg, splits), notes, described


def prepare_local(
    name: str, source: Any, shots: int, converters: Mapping[str, Any] | None = None
) -> LocalTask:
    """A requested task or group, converted from its local source and checked; nothing is written.

    Raises MissingData when data is absent (a group's subtask, the evaluation or few-shot split), DataError
    for data that is there but unusable.
    """
    previous = dict(USER_CONVERTERS)
    try:
        if converters:
            for task, fn in converters.items():
                register_converter(task, fn)
        kind = kind_of(name)
        if kind == "tag":
            raise EvaluationError(
                f"{name!r} is an lm-eval tag; request its tasks ({', '.join(yaml_index().tags[name])})"
            )
        if kind == "task":
            leaf, notes, described = prepare_leaf(name, source, shots, converter_names=[name])
            return LocalTask(name, described, [leaf], notes=notes)
        return _prepare_group(name, source, shots)
    finally:
        USER_CONVERTERS.clear()
        USER_CONVERTERS.update(previous)


def _prepare_group(group: str, source: Any, shots: int) -> LocalTask:
    leaves = group_leaves(group)
    # a subtask's files are named after its subset (MMLU: abstract_algebra), its task name or a folder alias
    subset_of = {leaf: official_task_config(leaf).get("dataset_name") or leaf for leaf in leaves}
    subsets = {
        subset_of[leaf]: (leaf, SHARED_EVALDATA_FOLDERS.get(leaf, leaf), *LOCAL_FOLDER_NAMES.get(leaf, ()))
        for leaf in leaves
    }
    prepared, notes, missing = [], [], []
    described = str(source)
    for leaf in leaves:
        try:
            got, leaf_notes, described = prepare_leaf(
                leaf, source, shots, subset=subset_of[leaf], subsets=subsets, converter_names=[leaf, group]
            )
        except MissingData as e:
            missing.append((leaf, str(e)))
            continue
        prepared.append(got)
        notes += leaf_notes
    if missing:
        names = ", ".join(leaf for leaf, _ in missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        raise MissingData(
            f"group {group!r}: local data at {Path(source) if not isinstance(source, Mapping) else source} "
            f"lacks {len(missing)} of its {len(leaves)} subtasks ({names}); first: {missing[0][1]}"
        )
    groups = {g: group_config(g) for g in group_tree(group)}
    return LocalTask(group, described, prepared, groups, notes)


# ---------------------------------------------------------------------------------------------- writing


def default_cache_dir() -> Path:
    return runs_dir() / "lm_eval_local"


def _write_split(docs: Sequence[Mapping[str, Any]], cache_dir: Path, task: str, split: str) -> Path:
    """The documents as JSONL under a folder named by their content hash (the same data is written once, and
    the `datasets` cache lm-eval builds from it is reused)."""
    text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    out = cache_dir / "data" / f"{task}-{digest}" / f"{split}.jsonl"
    if not out.is_file():
        atomic_write_text(out, text)
    return out


def leaf_config(leaf: LocalLeaf, cache_dir: Path) -> dict[str, Any]:
    """The leaf's YAML dict with its converted splits written to the cache."""
    files = {
        split: str(_write_split(s.docs, cache_dir, leaf.task, split)) for split, s in leaf.splits.items()
    }
    return {**leaf.yaml, "dataset_kwargs": {"data_files": files}}


def write_local(
    prepared: Sequence[LocalTask], out_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Write the YAMLs of prepared tasks (and their groups) for `lm_eval --include_path out_dir`."""
    import yaml

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    header = "# written by inheritune_core.evaluation: the official task on local data\n"
    written = []
    for task in prepared:
        for leaf in task.leaves:
            path = Path(out_dir) / f"{leaf.task}.yaml"
            atomic_write_text(path, header + yaml.safe_dump(leaf_config(leaf, cache), sort_keys=False))
            written.append(path)
        for group, cfg in task.groups.items():
            path = Path(out_dir) / f"{group}.yaml"
            atomic_write_text(
                path,
                "# written by inheritune_core.evaluation: the official group\n"
                + yaml.safe_dump(cfg, sort_keys=False),
            )
            written.append(path)
    return written


def local_task_config(
    task: str, source: Any, cache_dir: str | os.PathLike | None = None, shots: int | None = None
) -> dict[str, Any]:
    """The YAML dict that runs the official `task` (not a group) on a local copy of its data."""
    prepared = prepare_local(task, source, default_shots(task) if shots is None else shots)
    if len(prepared.leaves) != 1 or prepared.groups:
        raise EvaluationError(f"{task!r} is a group; use write_local_task")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return leaf_config(prepared.leaves[0], cache)


def write_local_task(
    task: str,
    source: Any,
    out_dir: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    shots: int | None = None,
) -> Path:
    """Write `<out_dir>/<task>.yaml` (a group: also its subtasks' and subgroups'); returns the task's YAML."""
    prepared = prepare_local(task, source, default_shots(task) if shots is None else shots)
    write_local([prepared], out_dir, cache_dir)
    return Path(out_dir) / f"{task}.yaml"


__all__ = [
    "MissingData",
    "YamlIndex",
    "yaml_index",
    "USER_GROUPS",
    "define_group",
    "group_config",
    "lm_eval_tasks_dir",
    "find_task_yaml",
    "official_task_config",
    "kind_of",
    "group_children",
    "group_leaves",
    "group_tree",
    "default_shots",
    "eval_split",
    "declared_fewshot_split",
    "declared_splits",
    "render_doc",
    "check_schema",
    "check_template_fields",
    "find_local_sources",
    "resolve_local_sources",
    "LocalLeaf",
    "LocalTask",
    "prepare_leaf",
    "prepare_local",
    "write_local",
    "local_task_config",
    "write_local_task",
    "default_cache_dir",
]
