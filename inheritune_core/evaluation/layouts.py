"""Layout detection and conversion: a local file's layout (a user converter first, then the package's
`LAYOUTS`, then the official schema), its split and subset from its name, and the documents of one split
checked. `evaluation.converters` re-exports this module with the readers and the layouts.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, EvaluationError
from .benchmarks import _KNOWN_KEYS, OFFICIAL_LAYOUT, layouts_for
from .records import (
    DATA_SUFFIXES,
    RECORD_SUFFIXES,
    ConvertContext,
    Layout,
    Probe,
    _cached_records,
    _tokens,
    check_utf8,
    official_schema,
    probe,
    validate_docs,
)


def dataset_key(dataset_path: str | None, dataset_name: str | None = None) -> str:
    """The key of an official dataset: the last part of its Hub path, plus ":name" when that names a dataset
    (glue:wnli) rather than a subset of one (mmlu's subjects, winogrande's sizes share one schema)."""
    base = (dataset_path or "").rstrip("/").rsplit("/", 1)[-1]
    if dataset_name and f"{base}:{dataset_name}" in _KNOWN_KEYS:
        return f"{base}:{dataset_name}"
    return base


# ------------------------------------------------------------------------------------------ user converters

# task (or group) name -> (function, "record" | "file"); see register_converter.
USER_CONVERTERS: dict[str, tuple[Callable[..., Any], str]] = {}


def register_converter(task: str, fn: Callable[..., Any] | str, per: str | None = None) -> None:
    """Use `fn` to read local data of `task` (a task, or a group: then for each of its subtasks).

    fn: a function, or "module:function". per: "record" (fn maps each record, a dict, to an official document,
    or None to drop it) or "file" (fn reads a whole file: path -> iterable of documents); None infers it from the
    first parameter's annotation (Path / str / os.PathLike: "file", anything else: "record").
    """
    if isinstance(fn, str):
        fn = load_function(fn)
    if not callable(fn):
        raise EvaluationError(f"converter for {task!r} is not callable: {fn!r}")
    if per is None:
        per = "file" if _takes_path(fn) else "record"
    if per not in ("record", "file"):
        raise EvaluationError(f"converter for {task!r}: per must be 'record' or 'file', got {per!r}")
    USER_CONVERTERS[task] = (fn, per)


def load_function(spec: str) -> Callable[..., Any]:
    """ "package.module:function" -> the function (one clear error when it cannot be imported)."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise EvaluationError(f"a converter is given as module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise EvaluationError(f"cannot import converter module {module_name!r}: {e}") from None
    fn = getattr(module, name, None)
    if fn is None:
        raise EvaluationError(f"module {module_name!r} has no function {name!r}")
    return fn


def _takes_path(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    annotation = params[0].annotation
    names = {"Path", "pathlib.Path", "str", "os.PathLike", "PathLike", "str | Path", "Path | str"}
    return annotation in (Path, str, os.PathLike) or (isinstance(annotation, str) and annotation in names)


def _user_converter(names: Sequence[str]) -> tuple[str, Callable[..., Any], str] | None:
    for name in names:
        if name in USER_CONVERTERS:
            fn, per = USER_CONVERTERS[name]
            return name, fn, per
    return None


def _run_user_converter(path: Path, fn: Callable[..., Any], per: str, who: str) -> list[dict]:
    try:
        if per == "file":
            docs = list(fn(path))
        else:
            docs = [d for d in (fn(dict(r)) for r in _cached_records(path)) if d is not None]
    except (DataError, EvaluationError):
        raise
    except Exception as e:
        raise DataError(f"converter {who} failed on {path}: {type(e).__name__}: {e}".splitlines()[0]) from e
    if not all(isinstance(d, Mapping) for d in docs):
        raise DataError(f"converter {who} returned something other than dicts for {path}")
    return [dict(d) for d in docs]


# ---------------------------------------------------------------------------------------- split matching

_ALIASES = {
    "validation": ("validation", "valid", "val", "dev", "eval"),
    "test": ("test",),
    "train": ("train",),
}
_SHARD = re.compile(r"^\d+$|^of$")


def _name_tokens(path: Path) -> list[str]:
    """The words of a file name without its suffix and shard numbers: Test-00000-of-00002.parquet -> [test]."""
    stem = path.name
    for suffix in (".gz", ".bz2", ".zst"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix.lower() in DATA_SUFFIXES else stem
    return [t for t in _tokens(stem) if not _SHARD.match(t)]


def _contains(tokens: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(list(tokens[i : i + n]) == list(part) for i in range(len(tokens) - n + 1))


def _split_spellings(split: str) -> list[list[str]]:
    """The ways a file name may spell a split: validation_matched -> [validation matched], [dev matched], ..."""
    tokens = _tokens(split)
    spellings = [tokens]
    for i, t in enumerate(tokens):
        for alias in _ALIASES.get(t, ()):
            spellings.append(tokens[:i] + [alias] + tokens[i + 1 :])
    out: list[list[str]] = []
    for s in spellings:
        if s not in out:
            out.append(s)
    return out


def match_split(path: Path, splits: Sequence[str]) -> str | None:
    """The split (one of `splits`) a file name names, case-insensitively; an exact split name beats an alias
    (MMLU's "dev" few-shot split is not its validation), the longer spelling beats a shorter one."""
    tokens = _name_tokens(path)
    best: tuple[int, int, str] | None = None
    for split in splits:
        for rank, spelling in enumerate(_split_spellings(split)):
            if _contains(tokens, spelling):
                score = (0 if rank == 0 else 1, -len(spelling), split)
                if best is None or score < best:
                    best = score
    return best[2] if best else None


def match_subset(path: Path, root: Path, subsets: Mapping[str, Sequence[str]]) -> str | None:
    """The subset a file belongs to: a folder named after it (abstract_algebra/test.parquet) or a name that is
    the subset plus a split word (abstract_algebra_test.csv); None for a file of no one subset.

    subsets: subset -> other names it goes by on disk (its task's name, folder aliases); case, "-" and "_" aside.
    """
    lookup: dict[str, str] = {}
    for key, names in subsets.items():
        for name in (key, *names):
            lookup.setdefault("_".join(_tokens(name)), key)
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = ()
    for part in reversed(parts):
        if "_".join(_tokens(part)) in lookup:
            return lookup["_".join(_tokens(part))]
    tokens = _name_tokens(path)
    while tokens and tokens[-1] in {a for aliases in _ALIASES.values() for a in aliases}:
        tokens.pop()
    return lookup.get("_".join(tokens))


def data_files(source: Path) -> list[Path]:
    """The data files of a local source (a file, or every data file under a folder, hidden ones left out)."""
    if source.is_file():
        return [source]
    files = []
    for p in sorted(source.rglob("*")):
        rel = p.relative_to(source).parts
        if (
            p.is_file()
            and not any(part.startswith(".") for part in rel)
            and p.suffix.lower() in DATA_SUFFIXES
        ):
            files.append(p)
    return files


# ------------------------------------------------------------------------------------------- converting


@dataclass
class LocalSplit:
    """The documents of one split of a local copy, in the official schema, and where they came from."""

    split: str
    files: tuple[Path, ...]
    layout: str
    docs: list[dict] = field(repr=False)
    exact: bool = True
    note: str = ""


def detect_layout(path: Path, ctx: ConvertContext) -> Layout | None:
    """The built-in layout of `path` for ctx's dataset (None: the official schema, or an unknown layout)."""
    p = probe(path)
    for layout in layouts_for(ctx.dataset):
        if layout.matches(p):
            return layout
    return None


def convert_file(
    path: Path, ctx: ConvertContext, converter_names: Sequence[str] = ()
) -> tuple[list[dict], str, bool, str]:
    """One local file -> (official documents, layout name, exact, note). Raises DataError on a wrong layout."""
    user = _user_converter(converter_names)
    if user is not None:
        name, fn, per = user
        who = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"
        return _run_user_converter(path, fn, per, who), f"user converter {who}", True, ""
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty")
    if path.suffix.lower() != ".parquet":
        check_utf8(path)
    try:
        return _convert_builtin(path, ctx)
    except UnicodeDecodeError as e:  # a file read along with `path` (PIQA's labels)
        raise DataError(
            f"{path} (or a file read with it) is not UTF-8 text ({e.reason}); convert it"
        ) from None


def _convert_builtin(path: Path, ctx: ConvertContext) -> tuple[list[dict], str, bool, str]:
    """convert_file for the package's own layouts and the official schema."""
    layout = detect_layout(path, ctx)
    if layout is not None:
        return layout.convert(path, ctx), layout.name, layout.exact, layout.note
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise DataError(layout_error(ctx, path, probe(path)))
    schema = official_schema(ctx.dataset)
    first_fields = probe(path).fields
    if schema is not None and not schema.required <= first_fields:
        raise DataError(layout_error(ctx, path, probe(path)))
    return _cached_records(path), OFFICIAL_LAYOUT, True, ""


def layout_error(ctx: ConvertContext, path: Path, p: Probe | None = None, missing: Sequence[str] = ()) -> str:
    """The one-line error for a file in a layout this task cannot read: what is missing, what the official
    dataset has, what the file has, and how to fix it."""
    p = p or probe(path)
    schema = official_schema(ctx.dataset)
    file_fields = sorted(p.fields) if p.fields else None
    missing = sorted(missing) or (sorted(schema.required - p.fields) if schema and p.fields else [])
    known = [layout.name for layout in layouts_for(ctx.dataset)]
    what = (
        f"fields {file_fields}"
        if file_fields is not None
        else (f"text starting {p.head.strip()[:40]!r}" if p.head.strip() else "no readable records")
    )
    official = (
        f"the official dataset has {list(schema.fields)}" if schema else "see the task's official dataset"
    )
    fix = (
        f"convert it to the official schema, use one of the known layouts ({'; '.join(known)}), "
        if known
        else "convert it to the official schema "
    )
    return (
        f"task {ctx.task!r}: local file {path} is not in a layout it can read: "
        f"{'missing ' + str(missing) + '; ' if missing else ''}{official}; the file has {what}; "
        f"{fix}or register a converter (register_converter({ctx.task!r}, fn) / --converter {ctx.task}=module:function)"
    )


def split_local_files(
    task: str,
    source: Path,
    splits: Sequence[str],
    eval_split: str,
    subset: str | None = None,
    subsets: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, list[Path]], list[str]]:
    """{split: files} of a local source for one task (and one subset of a group), and notes on files left out.

    Files are matched to the task's declared `splits` by name; a single unmatched file is the evaluation split.
    Several files for one split are shards (names equal but for numbers) and are read in order; otherwise the
    split is ambiguous and left out (a note; the caller fails when it needs that split).
    """
    files = [f for f in data_files(source)]
    notes: list[str] = []
    if subset is not None:
        root = source if source.is_dir() else source.parent
        own = [f for f in files if match_subset(f, root, subsets or {subset: ()}) == subset]
        shared = [f for f in files if match_subset(f, root, subsets or {subset: ()}) is None]
        files = own or shared
    by_split: dict[str, list[Path]] = {}
    unmatched = []
    for f in files:
        s = match_split(f, splits)
        if s is None:
            unmatched.append(f)
        else:
            by_split.setdefault(s, []).append(f)
    if eval_split not in by_split and len(files) == 1 and unmatched:
        by_split[eval_split] = unmatched
    out: dict[str, list[Path]] = {}
    for s, fs in by_split.items():
        names = {tuple(_tokens(f.parent.name)) + tuple(_name_tokens(f)) for f in fs}
        if len(fs) > 1 and len(names) > 1:
            notes.append(f"split {s!r} of {task!r} is ambiguous ({', '.join(f.name for f in fs)}); left out")
            continue
        out[s] = sorted(fs)
    return out, notes


def convert_split(
    files: Sequence[Path],
    ctx: ConvertContext,
    converter_names: Sequence[str] = (),
    shared: bool = False,
    validate: bool = True,
) -> LocalSplit:
    """Convert the files of one split (shards in order) and validate every document.

    For a group's subtask (ctx.subset), `shared` files hold every subset: only the documents whose subset field
    names ctx.subset are kept. A file of the subtask's own (by folder or name) is kept whole.
    """
    docs: list[dict] = []
    layouts, exact, notes = [], True, []
    for f in files:
        got, layout, is_exact, note = convert_file(f, ctx, converter_names)
        docs += got
        layouts.append(layout)
        exact = exact and is_exact
        if note and note not in notes:
            notes.append(note)
    schema = official_schema(ctx.dataset)
    if ctx.subset is not None and schema is not None and schema.subset_field:
        if shared:
            docs = [d for d in docs if d.get(schema.subset_field) == ctx.subset]
        for d in docs:  # a per-subject file may leave the subject empty: the file's folder or name says it
            if not d.get(schema.subset_field):
                d[schema.subset_field] = ctx.subset
    origin = ", ".join(str(f) for f in files) + (f" (subset {ctx.subset!r})" if ctx.subset else "")
    if not docs:
        raise DataError(f"task {ctx.task!r}: {origin} holds no documents")
    if validate:
        validate_docs(docs, ctx, origin)
    return LocalSplit(
        ctx.split or "", tuple(files), " + ".join(dict.fromkeys(layouts)), docs, exact, "; ".join(notes)
    )
