"""Whether the Hugging Face Hub can be reached, and offline mode for lm-eval's official data when it cannot.

A task with no local copy is loaded by lm-eval through `datasets`, which retries an unreachable Hub with
back-off (about 25-50 s per task, measured here) before it fails. So `evaluate` probes the Hub once per process
(one TCP connection, `PROBE_TIMEOUT_S`) and, when it cannot be reached, turns on the offline mode of
`datasets` and `huggingface_hub` while it loads tasks: data already in the local Hugging Face cache still loads,
the rest fails at once with a clear line (`official_data_error`) instead of a minute of retries.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

from ..errors import EvaluationError

PROBE_TIMEOUT_S = 3.0


class HubUnreachable(EvaluationError):
    """A task has no local copy, is not in the Hugging Face cache, and the Hub cannot be reached;
    `evaluate(..., strict=False)` skips such a task and lists it."""


DEFAULT_ENDPOINT = "https://huggingface.co"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def offline_requested() -> bool:
    """The user asked for offline mode (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE set)."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("HF_DATASETS_OFFLINE"))


@functools.cache
def hub_reachable(endpoint: str | None = None) -> bool:
    """One TCP connection to the Hub's endpoint (HF_ENDPOINT, default huggingface.co:443), cached per
    process; False when offline mode is requested."""
    if offline_requested():
        return False
    url = urlparse(endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def offline_unless_reachable() -> Iterator[bool]:
    """Within the block, `datasets` and `huggingface_hub` are in offline mode when the Hub cannot be reached
    (cached data only, no retries); yields whether the Hub is reachable. The flags are restored after."""
    if hub_reachable():
        yield True
        return
    import datasets.config
    import huggingface_hub.constants

    saved = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield False
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


# Tasks that failed to load offline in this process: asked again, they fail before the model is exported and
# lm-eval indexes its task files (about 15 s), so a notebook evaluating many runs pays that once per task.
_UNAVAILABLE: set[str] = set()


def remember_unavailable(task: str) -> None:
    _UNAVAILABLE.add(task)


def known_unavailable(tasks: list[str]) -> list[str]:
    """The tasks among `tasks` that already failed to load offline in this process (while the Hub is unreachable)."""
    return [t for t in tasks if t in _UNAVAILABLE] if _UNAVAILABLE and not hub_reachable() else []


def official_data_error(task: str) -> str:
    """The line for a task that has no local copy, is not in the Hugging Face cache, and cannot be downloaded."""
    return (
        f"no local copy of {task!r} (a folder in INHERITUNE_EVALDATA_DIR, ../shared/evaldata or local_data) "
        "and the Hugging Face Hub cannot be reached to download it"
    )


__all__ = [
    "HubUnreachable",
    "hub_reachable",
    "offline_unless_reachable",
    "offline_requested",
    "official_data_error",
    "remember_unavailable",
    "known_unavailable",
]
