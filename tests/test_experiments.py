"""experiments/runs.py and gpt2.py: a run is a spec hashed to a folder; finished runs are read back, interrupted ones resume."""

from __future__ import annotations

import json
import shutil

import pytest

from inheritune_core.config import ConfigError
from inheritune_core.experiments import gpt2 as pe
from inheritune_core.experiments import runs as ex
from inheritune_core.io import write_csv


def spec(data, **kw):
    kw.setdefault("seed", 1)
    return ex.make_spec("unit", "reference", "gpt2-medium", "smoke", data, **kw)


def fake_trainer(calls):
    def build_and_train(run_dir):
        calls.append(run_dir)
        (run_dir / "metrics.csv").write_text("step,tokens,train_loss,val_loss\n0,0,,9.5\n4,512,9.0,8.5\n")
        ex.atomic_write_json(run_dir / "result.json", {"final_val_loss": 8.5, "steps": 4})

    return build_and_train


def test_spec_hash_is_stable_and_complete(random_token_data):
    a = spec(random_token_data, init={"b": 1, "a": [1, 2]})
    b = spec(random_token_data, init={"a": [1, 2], "b": 1})
    assert a.hash == b.hash and len(a.hash) == ex.HASH_CHARS and a.run_id == f"unit-{a.hash}"
    assert ex.short_hash({"x": 1, "y": [1, 2]}) == ex.short_hash({"y": [1, 2], "x": 1})
    different = [
        spec(random_token_data, seed=2),
        spec(random_token_data, steps=7),
        spec(random_token_data, n_layer=2),
        spec(random_token_data, learning_rate=5e-4),
        spec(random_token_data, parents=["ref-123"]),
        spec(random_token_data, sampler="sequential"),
    ]
    assert len({a.hash} | {s.hash for s in different}) == 1 + len(different)
    # device and progress bars do not change what is computed, so they do not change the run
    assert spec(random_token_data, device="cuda", progress=False).hash == spec(random_token_data).hash
    assert a.train_config["max_steps"] == 12 and a.model_config["n_layer"] == 4  # smoke: 24 // 6


def test_data_fingerprint_ignores_location_and_timing(random_token_data, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(random_token_data.root, copy)
    meta = json.loads((copy / "meta.json").read_text())
    (copy / "meta.json").write_text(json.dumps({**meta, "prepare_seconds": 99.0}))
    assert ex.data_fingerprint(copy) == ex.data_fingerprint(random_token_data)
    (copy / "meta.json").write_text(json.dumps({**meta, "name": "other"}))
    assert ex.data_fingerprint(copy) != ex.data_fingerprint(random_token_data)


def test_finished_run_is_read_back_never_retrained(random_token_data, tmp_path):
    calls = []
    s = spec(random_token_data)
    first = ex.run_or_load(s, fake_trainer(calls), tmp_path)
    second = ex.run_or_load(s, fake_trainer(calls), tmp_path)
    assert len(calls) == 1 and first.trained_now and not second.trained_now
    assert second.run_dir == tmp_path / s.run_id and second.final_val_loss == 8.5
    assert json.loads((second.run_dir / "spec.json").read_text()) == json.loads(
        ex.canonical_json(s.identity())
    )
    rows = ex.curve_rows(second, panel="p", model="m", role="reference", method="rand init")
    assert [(r["step"], r["split"], r["loss"]) for r in rows] == [
        (0, "val", 9.5),
        (4, "train", 9.0),
        (4, "val", 8.5),
    ]


def test_a_trainer_that_writes_no_result_is_an_error(random_token_data, tmp_path):
    with pytest.raises(ConfigError, match="without writing .*result.json"):
        ex.run_or_load(spec(random_token_data), lambda run_dir: None, tmp_path)


def test_a_folder_of_another_spec_is_refused(random_token_data, tmp_path):
    s = spec(random_token_data)
    ex.run_or_load(s, fake_trainer([]), tmp_path)
    (tmp_path / s.run_id / "spec.json").write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ConfigError, match="describes another run"):
        ex.run_or_load(s, fake_trainer([]), tmp_path)


def test_reference_is_trained_once_and_an_interrupted_run_resumes(random_token_data, tmp_path):
    before = dict(ex.TRAINING_COUNTER)
    ref = ex.reference_run(
        "gpt2-medium", "smoke", random_token_data, steps=4, runs_dir=tmp_path, progress=False
    )
    again = ex.reference_run(
        "gpt2-medium", "smoke", random_token_data, steps=4, runs_dir=tmp_path, progress=False
    )
    assert ref.trained_now and not again.trained_now and again.run_id == ref.run_id
    assert ex.TRAINING_COUNTER["trained"] == before["trained"] + 1
    assert ref.layers == 4 and ref.steps == 4
    model = again.load_model()
    assert model.config.n_layer == 4 and not model.training
    # An interrupted run: the checkpoint is there, result.json is not. It resumes (here: at its last step).
    (ref.run_dir / "result.json").unlink()
    resumed = ex.reference_run(
        "gpt2-medium", "smoke", random_token_data, steps=4, runs_dir=tmp_path, progress=False
    )
    assert resumed.trained_now and resumed.steps == 4
    assert resumed.final_val_loss == pytest.approx(ref.final_val_loss, abs=1e-6)


def test_write_csv_is_all_or_nothing(tmp_path):
    path = tmp_path / "out" / "t.csv"
    write_csv([{"a": 1, "b": 0.1}, {"a": 2, "c": "x"}], path)
    assert path.read_text() == "a,b,c\n1,0.1,\n2,,x\n"

    def failing_rows():
        yield {"a": 3}
        raise RuntimeError("notebook failed half-way")

    with pytest.raises(RuntimeError):
        write_csv(failing_rows(), path)
    assert path.read_text() == "a,b,c\n1,0.1,\n2,,x\n"  # the previous complete file is untouched
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]  # no temp file left behind
    with pytest.raises(ValueError, match="no rows"):
        write_csv([], tmp_path / "empty.csv")


@pytest.mark.parametrize(
    "preset, scale, expected",
    [
        ("gpt2-medium", "paper", 16),
        ("gpt2-large", "paper", 18),
        ("gpt2-xlarge", "paper", 24),
        ("gpt2-large-dagger", "paper", 16),
        ("gpt2-medium", "tiny", 6),
        ("gpt2-large", "tiny", 6),
        ("gpt2-xlarge", "tiny", 8),
        ("gpt2-medium", "small", 8),
        ("gpt2-medium", "smoke", 2),
    ],
)
def test_target_layers(preset, scale, expected):
    assert pe.target_layers(preset, scale) == expected


def test_bad_experiment_input(random_token_data):
    setup = pe.Setup(scale="smoke", data=random_token_data)
    with pytest.raises(ConfigError, match="sizes must be a non-empty list"):
        pe.table1(setup, ["gpt2-huge"])
    with pytest.raises(ConfigError, match="unknown scale"):
        pe.Setup(scale="huge", data=random_token_data)
    with pytest.raises(ConfigError, match="run name"):
        ex.make_spec("a/b", "reference", "gpt2-medium", "smoke", random_token_data)


# ------------------------------------------------------------------------------- protocols (issue 11)
def smoke_setup(random_token_data, tmp_path, steps=4):
    return pe.Setup(
        scale="smoke",
        data=random_token_data,
        runs_dir=tmp_path,
        progress=False,
        downstream=False,
        steps=steps,
    )


def test_figure1_schedule_is_the_papers_10k_scaled():
    # Section 2: "an additional 10K steps"; C.1: a 2K warmup
    assert pe.figure1_schedule("paper", "gpt2-medium") == (10_000, 2000, 1000)
    assert pe.figure1_schedule("tiny", "gpt2-medium") == (20, 4, 2)  # T = 200: 200 x 10K / 100K
    assert pe.figure1_schedule("smoke", "gpt2-medium", steps=20) == (2, 0, 1)


@pytest.mark.slow
def test_figure1_trains_the_papers_extra_steps_per_seed_from_one_reference(random_token_data, tmp_path):
    setup = smoke_setup(random_token_data, tmp_path, steps=20)
    out = pe.figure1_training(setup, seeds=[5, 6], lazy_layers={"gpt2-medium": []})
    steps, warmup, interval = pe.figure1_extra_steps(setup, "gpt2-medium")
    assert (steps, warmup, interval) == (2, 0, 1)  # 20 x 10K / 100K; the paper's warmup share of 2 steps
    ref = out.records["gpt2-medium/reference"]
    rows = [r for r in out.rows if r["role"] != "reference"]
    assert sorted((r["role"], r["seed"]) for r in rows) == [
        (role, seed) for role in ("early", "lazy", "random") for seed in (5, 6)
    ]
    assert all(r["steps"] == 2 and r["layers"] == 2 and r["se"] > 0 for r in rows)
    for key in ("early", "lazy", "early@6"):
        rec = out.records[f"gpt2-medium/{key}"]
        assert rec.spec.parents[0] == ref.run_id  # every seed starts from the one shared reference
        assert rec.spec.train_config["warmup_steps"] == 0 and rec.steps == 2
    assert {c["role"] for c in out.curves} == {"early", "lazy", "random"}  # curves: the first seed's
    # no lazy layer in this reference: the "lazy" arm is its last layers, and says so
    lazy = [r for r in rows if r["role"] == "lazy"]
    assert {r["method"] for r in lazy} == {"last 2 layers (no lazy layers in this reference)"}
    assert out.records["gpt2-medium/lazy"].spec.init["layers"] == [2, 3]
    assert (
        out.records["gpt2-medium/early"].final_val_loss
        == out.records["gpt2-medium/early"].result["val_loss_full"]
    )


def test_seeds_must_be_distinct_integers(random_token_data, tmp_path):
    setup = smoke_setup(random_token_data, tmp_path)
    for bad in ([], [1, 1], [1.5], ["a"]):
        with pytest.raises(ConfigError, match="seeds must be"):
            pe.seed_list(setup, bad)
    assert pe.seed_list(setup, None) == [setup.seed]


@pytest.mark.slow
def test_table1_per_seed_with_a_shared_reference_and_its_planned_cost(random_token_data, tmp_path):
    setup = smoke_setup(random_token_data, tmp_path)
    out = pe.table1(setup, seeds=[1337, 7])
    ref = out.records["gpt2-medium/reference"]
    inh, inh7 = out.records["gpt2-medium/inheritune"], out.records["gpt2-medium/inheritune@7"]
    assert inh.run_id != inh7.run_id and inh.spec.parents == inh7.spec.parents == (ref.run_id,)
    assert inh.result["growth"] == "reinherit" and inh.steps == 4  # the final model saw T steps
    assert inh.result["sampler_start"] >= ref.result["sampler_end"]  # it reads after its reference
    roles = [(r["role"], r["seed"]) for r in out.rows]
    assert roles.count(("reference", 1337)) == 1 and ("random_2x", 7) in roles
    assert all(r["tokens"] and r["se"] != "" for r in out.rows)
    # the torch-free plan the ledger prices equals what was trained (at smoke one round reaches the target)
    records = [ref] + [
        out.records[f"gpt2-medium/{k}{t}"] for t in ("", "@7") for k in ("random", "random_2x", "random_half")
    ]
    unique = {r.run_id: r for r in records}.values()  # a repeated random model is one run
    trained = sum(r.result["train_flops"] for r in unique)
    trained += sum(r.result["recipe_flops"] for r in (inh, inh7))
    assert pe.plan_flops(pe.run_plan("table1", "smoke", seeds=2, steps=4)) == (pytest.approx(trained), 0.0)
    assert out.plan[0]["next_scale"] == "tiny" and out.plan[0]["seeds"] == 2


@pytest.mark.slow
def test_distillation_ours_is_one_round_at_the_panels_depth_and_steps(random_token_data, tmp_path):
    setup = smoke_setup(random_token_data, tmp_path)
    out = pe.distillation(setup)
    t_kd = pe.kd_steps(setup, "gpt2-medium")
    for panel in ("16-layer student", "12-layer student"):
        rows = [r for r in out.rows if r.get("panel") == panel]
        assert {r["steps"] for r in rows} == {t_kd}  # equal budgets in a panel
        assert len({r["layers"] for r in rows}) == 1
        ours = out.records[f"{panel}/inheritune"]
        assert ours.spec.init == {"method": "inherit", "parts": "all"} and "rounds" not in ours.result


@pytest.mark.slow
def test_fineweb_lineage_reads_no_window_twice(random_token_data, tmp_path):
    setup = smoke_setup(random_token_data, tmp_path)
    out = pe.fineweb(setup, ["gpt2-large-dagger"])  # 5 layers at smoke: rounds 2 -> 3 unless parity first
    ref, inh = out.records["gpt2-large-dagger/reference"], out.records["gpt2-large-dagger/inheritune"]
    assert ref.result["sampler"] == inh.result["sampler"] == "sequential"
    starts = [r["sampler_offset"] for r in inh.result["rounds"]]
    assert starts[0] >= ref.result["sampler_end"]  # round 1 starts after the reference's windows
    per_round = 4 * setup_batches(ref)
    assert starts == [starts[0] + i * per_round for i in range(len(starts))]  # each after the previous
    assert inh.result["distinct_windows"] == inh.result["windows_seen"]


def setup_batches(rec) -> int:
    cfg = rec.spec.train_config
    return cfg["batch_tokens"] // (cfg["micro_batch"] * cfg["block_size"])


def test_a_run_recorded_before_the_accounting_is_completed_without_training(random_token_data, tmp_path):
    ref = ex.reference_run(
        "gpt2-medium", "smoke", random_token_data, steps=2, runs_dir=tmp_path, progress=False
    )
    added = ("val_loss_full", "val_loss_se", "val_tokens", "sampler_end", "distinct_windows", "train_flops")
    old = {k: v for k, v in ref.result.items() if k not in added and k != "val_windows"}
    ex.atomic_write_json(ref.run_dir / "result.json", old)  # what an earlier version of the package wrote
    ckpt_mtime = (ref.run_dir / "ckpt.pt").stat().st_mtime_ns
    again = ex.reference_run(
        "gpt2-medium", "smoke", random_token_data, steps=2, runs_dir=tmp_path, progress=False
    )
    assert not again.trained_now and (ref.run_dir / "ckpt.pt").stat().st_mtime_ns == ckpt_mtime
    for key in added:
        assert again.result[key] == pytest.approx(ref.result[key]), key
    assert json.loads((ref.run_dir / "result.json").read_text())["val_loss_full"] == again.final_val_loss
