"""Experiments as declared arms (experiments/arms.py, driver.py, streams.py): every run of a table reads its
own data stream (issue 18 item 1), continuations never re-read their parent's, the sequential sampler's
streams differ by seed, and the plan reads the same declarations as the driver."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from inheritune_core.data.sampling import make_sampler
from inheritune_core.errors import ConfigError
from inheritune_core.experiments import arms, driver, plan, streams
from inheritune_core.experiments.setup import Setup
from inheritune_core.experiments.streams import DataStream, stream_span

SEEDS = (1337, 7, 8)


def smoke(data, tmp_path, **kw) -> Setup:
    return Setup(scale="smoke", data=data, runs_dir=tmp_path, progress=False, downstream=False, **kw)


def all_streams(setup: Setup, experiment: arms.Experiment, presets, seeds):
    """(preset, seed, panel table, role) -> DataStream of every run of an experiment, without training;
    the reference is (its seed, 0): setup.seed shared, or each seed's own."""
    out = {}
    for preset in presets:
        for seed in seeds:
            ref_seed = seed if setup.reference_per_seed else setup.seed
            ref_setup = dataclasses.replace(setup, seed=ref_seed)
            out[(preset, ref_seed, "-", "reference")] = driver.reference_stream_of(
                ref_setup, experiment, preset
            )
            for panel in experiment.panels:
                for role, stream in driver.panel_streams(setup, experiment, panel, preset, seed).items():
                    out[(preset, seed, panel.table, role)] = stream
    return out


def first_windows(setup: Setup, sampler: str, stream: DataStream, preset: str) -> tuple[int, ...]:
    from inheritune_core.config import optim_kwargs

    kw = optim_kwargs(preset, setup.scale)
    s = make_sampler(
        sampler,
        setup.data.split("train"),
        kw["micro_batch"],
        kw["block_size"],
        stream.seed,
        offset=stream.offset,
    )
    return tuple(int(w) for w in s.window_starts(stream.offset))


@pytest.mark.parametrize("name", sorted(arms.EXPERIMENTS))
@pytest.mark.parametrize("per_seed", [False, True])
def test_every_run_of_an_experiment_reads_its_own_first_batch(random_token_data, tmp_path, name, per_seed):
    exp = arms.EXPERIMENTS[name]
    setup = smoke(random_token_data, tmp_path, reference_per_seed=per_seed)
    presets = exp.allowed[:2]
    found = all_streams(setup, exp, presets, SEEDS)
    assert len(found) == len(presets) * (len(SEEDS) * len(exp.arms) + (len(SEEDS) if per_seed else 1))
    firsts = {key: first_windows(setup, exp.sampler, s, key[0]) for key, s in found.items()}
    for (a, wa), (b, wb) in itertools.combinations(firsts.items(), 2):
        if a[0] != b[0]:
            continue  # two presets: two different models and tables rows, compared within a preset
        assert wa != wb, f"{name}: {a} and {b} read the same first batch"


def test_the_reference_keeps_its_stream_and_other_arms_derive_theirs(random_token_data, tmp_path):
    setup = smoke(random_token_data, tmp_path)
    got = driver.panel_streams(setup, arms.TABLE1, arms.TABLE1.panels[0], "gpt2-medium", 1337)
    assert got["random"].seed == streams.derive_data_seed(1337, "gpt2-medium/random/ours/12")
    assert len({s.seed for s in got.values()} | {1337}) == len(got) + 1
    # Algorithm 1 starts after the reference's 12 steps of one micro-batch each
    assert got["inheritune"].offset == 12 and got["random"].offset == 0
    # the same arm in Tables 1 and 2 is one run reading one stream (its cached folder is shared)
    t2 = driver.panel_streams(setup, arms.TABLE2, arms.TABLE2.panels[0], "gpt2-medium", 1337)
    assert t2["inheritune"] == got["inheritune"]


def test_stacking_stage_two_continues_on_new_data(random_token_data, tmp_path):
    setup = smoke(random_token_data, tmp_path, steps=4)
    for seed in SEEDS:
        got = driver.panel_streams(setup, arms.TABLE2, arms.TABLE2.panels[0], "gpt2-medium", seed)
        stage1, stage2 = got["stacking_stage1"], got["stacking"]
        cfg = {"batch_tokens": 128, "micro_batch": 4, "block_size": 32, "max_steps": 4}
        assert stage2.offset == stream_span({**cfg, "sampler_offset": stage1.offset})[1]  # after stage 1
        assert stage2.seed != stage1.seed  # and not a replay of stage 1's stream at a later position
        s1 = make_sampler("random", setup.data.split("train"), 4, 32, stage1.seed, offset=stage1.offset)
        s2 = make_sampler("random", setup.data.split("train"), 4, 32, stage2.seed, offset=stage2.offset)
        read1 = {tuple(s1.window_starts(i)) for i in range(stage1.offset, stage1.offset + 4)}
        read2 = {tuple(s2.window_starts(i)) for i in range(stage2.offset, stage2.offset + 4)}
        assert not read1 & read2


def test_the_sequential_sampler_differs_by_seed_and_keeps_off_the_parents_windows(
    random_token_data, tmp_path
):
    setup = smoke(random_token_data, tmp_path)
    tokens = setup.data.split("train")
    panel = arms.FINEWEB.panels[0]
    ref_windows = set()
    ref = make_sampler("sequential", tokens, 4, 32, 1337)
    for _ in range(12):
        ref.next_batch()
    ref_windows = set(ref.drawn_windows().tolist())
    randoms, ours = set(), set()
    for seed in SEEDS:
        got = driver.panel_streams(setup, arms.FINEWEB, panel, "gpt2-medium", seed)
        randoms.add(got["random"].offset)
        ours.add(got["inheritune"].offset)
        s = make_sampler("sequential", tokens, 4, 32, got["inheritune"].seed, offset=got["inheritune"].offset)
        for _ in range(12):
            s.next_batch()
        assert not ref_windows & set(s.drawn_windows().tolist())  # a lineage never re-reads a window
    assert len(randoms) == len(SEEDS) and len(ours) == len(SEEDS)


def _repeats_an_earlier_random_arm(exp, arm) -> bool:
    """At smoke the target depth is k/2, so Table 1's random arm (Ours' depth) is its random k/2 arm: one run."""
    setup = Setup(scale="smoke", data=None)
    k = 4  # smoke: gpt2-medium's 24 layers / 6
    ident = driver.random_identity(arm, setup, "gpt2-medium", k, None)
    earlier = exp.arms[: exp.arms.index(arm)]
    return ident is not None and ident in {
        driver.random_identity(a, setup, "gpt2-medium", k, None) for a in earlier
    }


def test_the_plan_reads_the_declared_arms():
    for name, exp in arms.EXPERIMENTS.items():
        runs = plan.run_plan(name, "smoke", seeds=2)
        roles = {r.role for r in runs}
        assert "reference" in roles
        for arm in exp.arms:
            assert (
                arm.role in roles
                or (arm.build == "recipe" and any(r.startswith("inheritune_") for r in roles))
                or _repeats_an_earlier_random_arm(exp, arm)
            ), (name, arm.role)
    one = plan.run_plan("table1", "smoke", seeds=3)
    per_seed = plan.run_plan("table1", "smoke", seeds=3, reference_per_seed=True)
    assert [r.role for r in per_seed].count("reference") == 3 and len(per_seed) == len(one) + 2


def test_a_bad_declaration_is_one_clear_error():
    with pytest.raises(ConfigError, match="unknown build"):
        arms.Arm("random", "x", "magic")
    with pytest.raises(ConfigError, match="not one of paper.ROLES"):
        arms.Arm("randm", "x", "random")
    with pytest.raises(ConfigError, match="not declared before it"):
        arms.Experiment(
            "bad",
            (arms.Panel("t", "{preset}", (arms.Arm("stacking", "s", "stack", parent="stacking_stage1"),)),),
            ("gpt2-medium",),
        )
    with pytest.raises(ConfigError, match="unknown experiment"):
        plan.run_plan("table99", "smoke")


@pytest.mark.slow
def test_the_driver_trains_each_arm_on_its_declared_stream(random_token_data, tmp_path, capsys):
    from inheritune_core.experiments import gpt2

    setup = smoke(random_token_data, tmp_path, steps=2, reference_per_seed=True)
    out = gpt2.table2(setup, seeds=[1337, 7])
    for seed, tag in ((1337, ""), (7, "@7")):
        ref = out.records[f"gpt2-medium/reference{tag}"]
        assert ref.spec.seed == seed and ref.spec.train_config["seed"] == seed  # each seed's own reference
        expected = driver.panel_streams(
            dataclasses.replace(setup, seed=seed),
            arms.TABLE2,
            arms.TABLE2.panels[0],
            "gpt2-medium",
            seed,
        )
        for role, stream in expected.items():
            rec = out.records[f"gpt2-medium/{role}{tag}"]
            assert rec.spec.seed == seed and rec.spec.train_config["seed"] == stream.seed, role
            if role == "inheritune":
                assert rec.result["rounds"][0]["sampler_offset"] == stream.offset
            else:
                assert rec.spec.train_config.get("sampler_offset", 0) == stream.offset, role
        assert out.records[f"gpt2-medium/stacking{tag}"].spec.parents[0] == (
            out.records[f"gpt2-medium/stacking_stage1{tag}"].run_id
        )
    assert np.isfinite([r["value"] for r in out.rows]).all()
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[table2] run ")]
    assert printed[0] == "[table2] run 1/12: gpt2-medium reference (seed 1337)" and len(printed) == 12


def test_the_lazy_arm_takes_the_references_lazy_layers_and_says_when_there_are_none():
    assert driver.lazy_selection(8, 4, [5, 6, 7, 4, 3]) == ([4, 5, 6, 7], "lazy layers")
    assert driver.lazy_selection(8, 4, [2, 6]) == ([2, 5, 6, 7], "2 lazy + 2 last layers")
    assert driver.lazy_selection(8, 4, []) == (
        [4, 5, 6, 7],
        "last 4 layers (no lazy layers in this reference)",
    )
    assert driver.lazy_selection(8, 4, None)[1] == "last 4 layers (lazy layers not analysed)"


def test_each_run_prints_one_line_as_it_trains_or_is_read_back(random_token_data, tmp_path, capsys):
    from inheritune_core.experiments import runs

    spec = runs.make_spec("unit", "reference", "gpt2-medium", "smoke", random_token_data, seed=1)

    def fake(run_dir):
        runs.atomic_write_json(run_dir / "result.json", {"final_val_loss": 8.5, "steps": 4})

    runs.run_or_load(spec, fake, tmp_path)
    runs.run_or_load(spec, fake, tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"[runs] training {spec.run_id}: reference, 4 layers, 12 steps, seed 1",
        f"[runs] trained {spec.run_id}: val loss 8.5000 after 4 steps",
        f"[runs] read back {spec.run_id}",
    ]


def test_two_random_arms_with_one_model_and_schedule_are_one_run(random_token_data, tmp_path):
    """Table 1's random arm has Ours' depth; when Algorithm 1 stops at k/2, it is the random k/2 arm (same
    depth, same steps, no teacher): the driver trains it once and reports it under both roles."""
    setup = smoke(random_token_data, tmp_path)
    by_role = {a.role: a for a in arms.TABLE1.arms}
    k, preset = 4, "gpt2-medium"  # smoke: gpt2-medium's 24 layers / 6; the target is larger than k/2
    half = driver.random_identity(by_role["random_half"], setup, preset, k, ours=2)
    assert half == (2, setup.T(preset))
    assert driver.random_identity(by_role["random"], setup, preset, k, ours=2) == half
    assert driver.random_identity(by_role["random"], setup, preset, k, ours=4) != half  # Ours grew: two runs
    assert driver.random_identity(by_role["random_2x"], setup, preset, k, ours=2) != half  # 2T steps
    assert driver.random_identity(by_role["inheritune"], setup, preset, k, ours=2) is None
    for exp in arms.EXPERIMENTS.values():  # a teacher's student or a scheduled arm is never merged
        for arm in exp.arms:
            if arm.teacher or arm.steps == "T_extra":
                assert driver.random_identity(arm, setup, preset, k, ours=2) is None, (exp.name, arm.role)


def test_the_driver_trains_a_repeated_random_model_once(random_token_data, tmp_path, capsys):
    from inheritune_core.experiments.runs import TRAINING_COUNTER

    twice = arms.Experiment(
        "table1",
        (
            arms.Panel(
                "table1",
                "{preset}",
                (
                    arms.Arm("random", "rand init", "random", layers="k/2"),
                    arms.Arm("random_half", "rand init (k/2)", "random", layers="k/2", label="random-half"),
                ),
            ),
        ),
        ("gpt2-medium",),
    )
    setup = smoke(random_token_data, tmp_path, steps=2)
    before = TRAINING_COUNTER["trained"]
    out = driver.run_arms(twice, setup)
    assert TRAINING_COUNTER["trained"] - before == 2  # the reference and one random model
    hashes = {r["role"]: r["run_hash"] for r in out.rows if r["metric"] == "val_loss"}
    assert hashes["random"] == hashes["random_half"] == out.records["gpt2-medium/random"].hash
    assert out.records["gpt2-medium/reference"].hash != hashes["random"]
    assert {c["role"] for c in out.curves} == {"random"}  # one curve of the one run
    printed = capsys.readouterr().out
    assert "random_half (seed 1337): the random arm's model (2 layers, 2 steps), so its run" in printed
