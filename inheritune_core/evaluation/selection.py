"""Which documents of a task lm-eval scores: `limit` of them (a seeded random sample or the first ones), skipping
documents whose longest continuation does not fit the model's context (`fit_context`), so `limit=N` still means
N scored documents. `evaluation.harness.evaluate` calls it for every task; its docstring states the protocol.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import EvaluationError

SAMPLES = ("first", "random")


def check_limit(limit: Any) -> None:
    """A limit is a positive number of documents or a fraction in (0, 1): 0, a negative number or a non-number
    is one clear line (it used to surface later as "no document fits the model's context")."""
    items = limit.items() if isinstance(limit, Mapping) else [(None, limit)]
    for task, value in items:
        if value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value <= 0:
            where = f" for task {task!r}" if task is not None else ""
            raise EvaluationError(
                f"limit{where} must be a positive number of documents per task (or a fraction in (0, 1)), "
                f"got {value!r}; leave it out to score every document"
            )


# ------------------------------------------------------------------- choosing the documents to score

# Output types whose requests lm-eval scores with `loglikelihood`, asserting continuation length <= max_length.
_LOGLIKELIHOOD_TYPES = ("loglikelihood", "multiple_choice")


@dataclass(frozen=True)
class Selection:
    """The documents of a task to score: their indices in the evaluation split (None: all, in order), how many
    were skipped for not fitting the context (and the longest of those), and the split's size."""

    indices: tuple[int, ...] | None
    dropped: int
    longest: int
    total: int

    @property
    def kept(self) -> int:
        return self.total if self.indices is None else len(self.indices)


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


def select_documents(
    task,
    lm,
    limit: int | float | None = None,
    sample: str = "random",
    seed: int = 1234,
    fit_context: bool = True,
) -> Selection:
    """The documents of `task` to score: `limit` of them (all when None; a float in (0, 1): that fraction,
    rounded up as lm-eval does), the first ones or a random sample (random.Random(seed) shuffles the indices),
    skipping documents whose continuation does not fit `lm.max_length` when fit_context (loglikelihood tasks).
    Documents are examined in that order until enough fit, so `dropped` counts those skipped on the way; the
    chosen indices are returned in file order."""
    if sample not in SAMPLES:
        raise EvaluationError(f"sample must be one of {SAMPLES}, got {sample!r}")
    check_limit(limit)
    docs = task.eval_docs
    total = len(docs)
    if limit is None:
        wanted = total
    elif isinstance(limit, float) and 0 < limit < 1:
        wanted = int(math.ceil(total * limit))
    else:
        wanted = min(int(limit), total)
    order = list(range(total))
    if sample == "random":
        random.Random(seed).shuffle(order)
    fits = fit_context and getattr(task, "OUTPUT_TYPE", None) in _LOGLIKELIHOOD_TYPES
    if not fits:
        chosen = sorted(order[:wanted])
        return Selection(None if chosen == list(range(total)) else tuple(chosen), 0, 0, total)
    max_length = int(lm.max_length)
    kept: list[int] = []
    dropped, longest = 0, 0
    with _compiled_templates_cached():
        for index in order:
            if len(kept) >= wanted:
                break
            length = longest_continuation(task, docs[index], lm)
            if length <= max_length:
                kept.append(index)
            else:
                dropped += 1
                longest = max(longest, length)
    if not kept:
        raise EvaluationError(
            f"no document of task {task.task_name!r} fits the model's context of {max_length} "
            f"tokens ({dropped} documents examined)"
        )
    kept.sort()
    return Selection(None if kept == list(range(total)) else tuple(kept), dropped, longest, total)


def fit_task_to_context(task, lm, limit: int | float | None = None) -> tuple[int, int, int]:
    """The first `limit` documents of `task` that fit `lm.max_length`: (kept, dropped, longest dropped).

    The task object is changed in place: the method its `eval_docs` reads (test_docs or validation_docs) is
    replaced on the instance by one returning the kept documents, for callers that hand the task to lm-eval
    themselves. Tasks of other output types (rolling loglikelihood, generation) are left as they are.
    """
    if getattr(task, "OUTPUT_TYPE", None) not in _LOGLIKELIHOOD_TYPES:
        return len(task.eval_docs), 0, 0
    chosen = select_documents(task, lm, limit, "first", fit_context=True)
    if chosen.indices is not None and chosen.dropped:
        docs = task.eval_docs
        fitted = (
            docs.select(list(chosen.indices))
            if hasattr(docs, "select")
            else [docs[i] for i in chosen.indices]
        )
        source = "test_docs" if task.has_test_docs() else "validation_docs"
        setattr(task, source, lambda: fitted)  # instance attribute shadows the method: eval_docs uses it
    return chosen.kept, chosen.dropped, chosen.longest


def _report_selection(name: str, chosen: Selection, lm, fit_context: bool) -> None:
    if not fit_context:
        return
    if chosen.dropped:
        print(
            f"{name}: dropped {chosen.dropped} of {chosen.kept + chosen.dropped} documents examined: a continuation "
            f"is longer than the model's context of {int(lm.max_length)} tokens (longest {chosen.longest}); "
            f"scoring {chosen.kept}"
        )


__all__ = [
    "SAMPLES",
    "Selection",
    "check_limit",
    "fit_task_to_context",
    "longest_continuation",
    "select_documents",
]
