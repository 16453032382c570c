"""evaluation.hub: the Hub probe and the offline mode that keeps an unreachable Hub from costing a minute of
retries per task (issue 21: a smoke notebook on a machine without ../shared)."""

import socket

import pytest

from inheritune_core.errors import EvaluationError
from inheritune_core.evaluation import hub


@pytest.fixture(autouse=True)
def _fresh_probe():
    hub.hub_reachable.cache_clear()
    saved = set(hub._UNAVAILABLE)
    yield
    hub.hub_reachable.cache_clear()
    hub._UNAVAILABLE.clear()
    hub._UNAVAILABLE.update(saved)


def test_offline_mode_asked_for_means_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub.hub_reachable()


def test_probe_tells_a_listening_port_from_a_closed_one(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert hub.hub_reachable(f"http://127.0.0.1:{port}")
    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert not hub.hub_reachable(f"http://127.0.0.1:{closed}")


def test_offline_block_turns_on_offline_mode_and_restores_it(monkeypatch):
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    before = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    with hub.offline_unless_reachable() as reachable:
        assert reachable is False
        assert datasets.config.HF_HUB_OFFLINE and huggingface_hub.constants.HF_HUB_OFFLINE
    assert (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE) == before
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    with hub.offline_unless_reachable() as reachable:
        assert reachable is True
        assert (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE) == before


def test_a_task_that_failed_offline_fails_again_before_any_work(monkeypatch):
    from inheritune_core.evaluation.harness import evaluate

    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    hub.remember_unavailable("lambada_openai")
    # the model is never touched: the error comes before export (an object that cannot be exported)
    with pytest.raises(EvaluationError, match="Hub cannot be reached"):
        evaluate(object(), ["lambada_openai"], limit=2, data_dir=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)  # reachable again: no longer known unavailable
    assert hub.known_unavailable(["lambada_openai"]) == []


def test_with_strict_false_an_unreachable_task_is_skipped_not_fatal(monkeypatch, capsys):
    from inheritune_core.evaluation.harness import NothingToEvaluate, evaluate
    from inheritune_core.evaluation.hub import HubUnreachable

    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    hub.remember_unavailable("lambada_openai")
    with pytest.raises(HubUnreachable):
        evaluate(object(), ["lambada_openai"], data_dir=False)
    with pytest.raises(NothingToEvaluate, match="every requested task was skipped"):
        evaluate(object(), ["lambada_openai"], data_dir=False, strict=False)
    assert "skipped lambada_openai: no local copy of 'lambada_openai'" in capsys.readouterr().out


def test_the_low_data_evaluation_leaves_its_columns_out_when_nothing_can_be_evaluated(
    monkeypatch, capsys, tmp_path
):
    from inheritune_core.experiments.lowdata.evaluate import evaluate_lowdata

    monkeypatch.setenv("INHERITUNE_EVALDATA_DIR", str(tmp_path))  # a user's machine: no ../shared/evaldata
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    hub.remember_unavailable("piqa")
    table = evaluate_lowdata("unused-model-dir", "smoke", tasks=["piqa"])
    assert table.empty and set(table.attrs["skipped"]) == {"piqa"}
    assert "downstream columns left out" in capsys.readouterr().out
