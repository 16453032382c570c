"""The ledger says "holds" only where the scale can show it (issue 18, item 4) and never at smoke (issue 21,
item 1): preconditions and "not testable at this scale", one-seed "leans for/against", the paper's strict
lazy-layer rule, our depth and steps beside the paper's, one column per non-smoke scale. Fixture CSVs only."""

from __future__ import annotations

from pathlib import Path

from inheritune_core.report import claims
from inheritune_core.report.claims import (
    CONTRADICTED,
    HOLDS,
    LEANS_AGAINST,
    LEANS_FOR,
    NOT_RESOLVED,
    NOT_TESTABLE,
    compare,
)

HEADER = "table,model,role,method,layers,steps,tokens,metric,value,se,scale,seed"
SEEDS = (1337, 1338, 1339)


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def table1_rows(
    scale: str,
    reference: float | list[float],
    random_half: float | None,
    *,
    ours: float = 5.80,
    random_layers: int = 4,
    random_2x: float = 5.50,
) -> list[str]:
    """Table 1 at one scale: an 8-layer reference (one shared run, or one per seed when a list), and per seed
    Ours (4L), random init at `random_layers` for the same 200 steps (omitted when None) and 2x steps."""
    refs = reference if isinstance(reference, list) else [reference]
    rows = [
        f"table1,gpt2-medium,reference,rand init,8,200,102400,val_loss,{v},0.001,{scale},{seed}"
        for v, seed in zip(refs, SEEDS)
    ]
    for i, seed in enumerate(SEEDS):
        jitter = (i - 1) * 0.01
        rows.append(
            f"table1,gpt2-medium,inheritune,Ours,4,200,102400,val_loss,{ours + jitter},0.001,{scale},{seed}"
        )
        rows.append(
            f"table1,gpt2-medium,random_2x,rand init,{random_layers},400,204800,val_loss,{random_2x + jitter},"
            f"0.001,{scale},{seed}"
        )
        if random_half is not None:
            rows.append(
                f"table1,gpt2-medium,random,rand init,{random_layers},200,102400,val_loss,"
                f"{random_half + jitter},0.001,{scale},{seed}"
            )
    return rows


def ledger(results: Path, reported: Path | None = None) -> dict[str, claims.LedgerRow]:
    reported = reported or results / "reported"
    return {r.claim.key: r for r in claims.build_ledger(results, reported, throughput=None)}


def verdicts(row: claims.LedgerRow) -> dict[str, str]:
    return {o.scale: o.verdict for o in row.ours}


# ------------------------------------------------------------------------------------------ preconditions
def test_not_testable_when_the_reference_does_not_beat_the_half_depth_random_model(tmp_path):
    # depth does not matter here: the 8-layer reference (6.000) is no better than random 4L (6.001 ± 0.01)
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.001)])
    rows = ledger(tmp_path)
    for key in ("parity", "random_1x", "random_2x"):
        assert verdicts(rows[key]) == {"tiny": NOT_TESTABLE}, key
    lines = rows["parity"].ours[0].lines
    assert lines[0].startswith(
        "precondition (depth matters here): gpt2-medium reference 8L/200 vs random 4L/200"
    )
    assert "half depth" in lines[0] and lines[0].endswith("not testable at this scale")
    # the numbers are still shown, with what they would have said
    assert "Ours vs reference" in lines[1] and f"{HOLDS} (not counted: {NOT_TESTABLE})" in lines[1]


def test_holds_when_the_reference_beats_the_half_depth_random_model(tmp_path):
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300)])
    rows = ledger(tmp_path)
    assert verdicts(rows["parity"]) == {"tiny": HOLDS}  # 5.80 vs 6.000 (se 0.001)
    assert verdicts(rows["random_1x"]) == {"tiny": HOLDS}
    assert verdicts(rows["random_2x"]) == {"tiny": CONTRADICTED}  # 5.80 vs 5.50
    assert rows["parity"].ours[0].lines[0].endswith(": met")


def test_no_half_depth_random_arm_is_said_so(tmp_path):
    # only random at 2x steps: nothing trained the reference's 200 steps with fewer layers
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, None)])
    row = ledger(tmp_path)["random_2x"]
    assert verdicts(row) == {"tiny": NOT_TESTABLE}
    assert "not testable: no half-depth random arm at this scale" in row.ours[0].lines[0]


def test_the_declared_half_depth_arm_is_the_precondition_when_ours_also_ends_at_half_depth(tmp_path):
    # `cpu`: one reference per seed; Ours stopped at 4 layers, so its random arm (6.30) and the declared
    # random_half arm (6.10) are both 4L at T: the precondition uses the declared one only
    rows = table1_rows("cpu", [6.00, 6.01, 5.99], 6.30)
    rows += [
        f"table1,gpt2-medium,random_half,rand init (k/2),4,200,102400,val_loss,{6.10 + i * 0.01},0.001,cpu,{s}"
        for i, s in enumerate(SEEDS)
    ]
    write(tmp_path / "table1" / "table1.csv", [HEADER, *rows])
    line = ledger(tmp_path)["parity"].ours[0].lines[0]
    assert "(random_half, half depth): 6.000 ± 0.010 (3 seeds) vs 6.110" in line, line
    assert line.endswith(": met")


def test_a_target_depth_random_arm_is_used_and_named_a_stricter_test(tmp_path):
    # Table 1's random arm has the target depth (6 of 8 layers after growth), not k/2 = 4
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300, random_layers=6)])
    line = ledger(tmp_path)["parity"].ours[0].lines[0]
    assert (
        "random 6L/200" in line and "deeper than half (4L): a stricter test" in line and line.endswith("met")
    )


def test_a_per_seed_reference_puts_its_seed_spread_into_sigma(tmp_path):
    # three references whose spread (0.1) swamps the gap to random (0.05): not testable, and no "shared" note
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", [5.85, 5.95, 6.05], 6.000)])
    row = ledger(tmp_path)["parity"]
    assert verdicts(row) == {"tiny": NOT_TESTABLE}
    assert "5.950 ± 0.100 (3 seeds) vs 6.000 ± 0.010 (3 seeds)" in row.ours[0].lines[0]
    assert "shared by all seeds" not in " ".join(row.ours[0].lines)
    # one reference shared by every seed: the row says its sigma is only the validation se
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300)])
    assert "the reference is one run shared by all seeds" in ledger(tmp_path)["parity"].ours[0].lines[1]


def test_our_depth_and_steps_stand_beside_the_papers(tmp_path):
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300)])
    write(
        tmp_path / "reported" / "table1.csv",
        [
            "table,model,role,method,layers,steps,metric,value,source",
            "table1,gpt2-medium,reference,rand init,24,100000,val_loss,2.81,paper",
            "table1,gpt2-medium,inheritune,Ours,16,100000,val_loss,2.81,paper",
        ],
    )
    line = ledger(tmp_path)["parity"].ours[0].lines[1]
    assert line.endswith("[ours 4L/200 vs 8L/200 steps, paper 16L/100K vs 24L/100K]")


def test_early_vs_lazy_needs_a_reference_with_lazy_layers(tmp_path):
    cf = [HEADER + ",panel"] + [
        f"figure1,gpt2-medium,{role},{role},4,20,10240,val_loss,{v + s / 1000},0.01,tiny,{s},p"
        for s in SEEDS
        for role, v in (("early", 6.0), ("lazy", 6.5), ("random", 10.0))
    ]
    write(tmp_path / "figure1" / "figure1_cf.csv", cf)
    write(tmp_path / "figure1" / "layer_stats.csv", ["model,scale,layer", "toy (8L),tiny,0"])
    lazy = ["layer,max_rank_mean,max_mass_mean,all_degenerate_frac,lazy,model"]
    write(
        tmp_path / "figure1" / "lazy_layers.csv", lazy + [f"{i},3.0,5.0,0.0,False,toy (8L)" for i in range(8)]
    )
    row = ledger(tmp_path)["early_vs_lazy"]
    assert verdicts(row) == {"tiny": NOT_TESTABLE}
    assert "the 'lazy' arm is its last n layers" in row.ours[0].lines[0]
    write(
        tmp_path / "figure1" / "lazy_layers.csv",
        lazy + [f"{i},1.0,1.0,{float(i > 5)},True,toy (8L)" for i in range(8)],
    )
    assert verdicts(ledger(tmp_path)["early_vs_lazy"]) == {"tiny": HOLDS}


# ------------------------------------------------------------------------------------------ one seed
def test_a_one_seed_difference_beyond_four_standard_errors_leans():
    assert compare([5.0], [6.0], a_se=0.01, b_se=0.01).verdict == LEANS_FOR  # d = -1, 4 se = 0.057
    assert compare([6.0], [5.0], a_se=0.01, b_se=0.01).verdict == LEANS_AGAINST
    assert compare([5.0], [5.05], a_se=0.01, b_se=0.01).verdict == NOT_RESOLVED  # 0.05 < 4 se
    assert compare([5.0], [6.0]).verdict == NOT_RESOLVED  # no standard error: nothing to measure it by
    assert compare([60.0], [50.0], lower_is_better=False, a_se=1, b_se=1).verdict == LEANS_FOR
    assert claims.combine([HOLDS, LEANS_FOR]) == LEANS_FOR
    assert claims.combine([LEANS_FOR, LEANS_AGAINST]) == LEANS_AGAINST
    assert claims.combine([LEANS_FOR, NOT_RESOLVED]) == NOT_RESOLVED
    assert claims.combine([HOLDS, NOT_TESTABLE]) == NOT_TESTABLE
    assert claims.combine([NOT_TESTABLE, CONTRADICTED]) == CONTRADICTED


def test_a_large_one_seed_layer_selection_result_leans_in_the_ledger(tmp_path):
    write(
        tmp_path / "layer_selection" / "table.csv",
        [HEADER]
        + [
            f"layer_selection,smollm2-135m,{role},{role},15,100,51200,val_loss,{v},0.01,tiny,1337"
            for role, v in (("first", 6.886), ("shortgpt", 5.648))
        ],
    )
    row = ledger(tmp_path)["layer_selection"]
    assert verdicts(row) == {"tiny": LEANS_AGAINST}
    assert "first n vs shortgpt: 6.886 (se 0.010) vs 5.648 (se 0.010) (one seed;" in row.ours[0].lines[0]


# ------------------------------------------------------------------------------------------ lazy layers
def _lazy_fixture(results: Path, shares: list[float]) -> None:
    write(results / "figure1" / "layer_stats.csv", ["model,scale,layer", "toy (8L),tiny,0"])
    write(
        results / "figure1" / "lazy_layers.csv",
        ["layer,max_rank_mean,max_mass_mean,all_degenerate_frac,lazy,model"]
        + [f"{i},1.5,1.7,{share},{share >= 0.5},toy (8L)" for i, share in enumerate(shares)],
    )


def test_the_lazy_layer_claim_uses_the_papers_strict_rule(tmp_path):
    # layer 6 has every head degenerate in 62% of the windows: lazy only under the relaxed rule
    _lazy_fixture(tmp_path, [0.0] * 6 + [0.62, 0.0])
    (result,) = claims.lazy_layer_results(tmp_path)
    assert result.verdict == NOT_RESOLVED
    assert (
        result.lines[0] == "toy (8L): lazy layers (strict: every head degenerate in every window) none of 8"
    )
    assert result.lines[1].startswith(
        "toy (8L): relaxed rule (every head degenerate in ≥ 50% of windows; not"
    )
    assert result.lines[1].endswith("layers [6] (6: 62%)")
    _lazy_fixture(tmp_path, [0.0] * 6 + [1.0, 0.3])  # every window: strictly lazy, in the deeper half
    (result,) = claims.lazy_layer_results(tmp_path)
    assert result.verdict == HOLDS and "[6] of 8" in result.lines[0] and len(result.lines) == 1


# ------------------------------------------------------------------------------------------ no smoke
def test_smoke_rows_change_no_verdict_and_get_no_column(tmp_path):
    tiny_only, both = tmp_path / "a", tmp_path / "b"
    write(tiny_only / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300)])
    # smoke: depth matters there and Ours loses to random, so a smoke verdict would differ if it were given
    smoke = table1_rows("smoke", 6.000, 9.0, ours=9.5, random_2x=4.0)
    write(both / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300), *smoke])
    before, after = ledger(tiny_only), ledger(both)
    for key in before:
        assert [(o.scale, o.verdict, o.lines) for o in after[key].ours] == [
            (o.scale, o.verdict, o.lines) for o in before[key].ours
        ], key
    text = claims.ledger_markdown(list(after.values()), None)
    assert "smoke" not in text.split("| Claim |")[1]  # neither a column nor a verdict
    assert "| Claim | Paper | Ours at `tiny`: verdict, numbers | Next scale: command, cost |" in text
    assert after["parity"].next.startswith("`make table1 SCALE=cpu")  # the scale after tiny, never smoke


def test_each_non_smoke_scale_is_its_own_column(tmp_path):
    rows = [HEADER, *table1_rows("tiny", 6.000, 6.001), *table1_rows("small", 6.000, 6.300)]
    write(tmp_path / "table1" / "table1.csv", rows)
    built = ledger(tmp_path)
    assert verdicts(built["parity"]) == {"tiny": NOT_TESTABLE, "small": HOLDS}
    text = claims.ledger_markdown(list(built.values()), None)
    header = next(line for line in text.splitlines() if line.startswith("| Claim |"))
    assert header.index("`tiny`") < header.index("`small`")
    parity = next(line for line in text.splitlines() if "reaches the reference" in line)
    assert f"tiny: **{NOT_TESTABLE}**" in parity and f"small: **{HOLDS}**" in parity


def test_the_low_data_threshold_leans_with_standard_errors_and_skips_blank_values(tmp_path):
    write(
        tmp_path / "table5_lowdata" / "table5.csv",
        [
            HEADER,
            "table5,ref,reference,n/a,30,,,piqa_acc,70.0,1.0,tiny,",
            "table5,ours,inheritune,x,15,30,7680,piqa_acc,48.0,1.5,tiny,1337",
            "table5,ref,reference,n/a,30,,,arc_easy_acc,,,tiny,",  # not evaluated: no number, no crash
            "table5,ours,inheritune,x,15,30,7680,arc_easy_acc,40.0,1.5,tiny,1337",
        ],
    )
    (result,) = claims.lowdata_results(tmp_path)
    assert result.verdict == LEANS_AGAINST and len(result.lines) == 1  # 48 vs 63: 15 > 4 x 1.8
    assert result.lines[0].startswith(
        "piqa_acc: ours 48.00 (se 1.50) vs 90% of the reference's 70.00 = 63.00"
    )


def test_the_parity_row_says_how_far_algorithm_1_grew(tmp_path):
    write(tmp_path / "table1" / "table1.csv", [HEADER, *table1_rows("tiny", 6.000, 6.300)])
    line = ledger(tmp_path)["parity"].ours[0].lines[-1]
    assert line.startswith(
        "Algorithm 1 (gpt2-medium from k/2 = 4L): rounds per seed [1, 1, 1], final depth [4]L"
    )
    assert "parity in round 1 in every seed, so growth did not run at this scale" in line
    # seed 1338 grew once: its round 1 (4L) is a row of its own and its final model has 6 layers
    rows = [
        r.replace(",4,200,102400,val_loss,5.8,", ",6,200,102400,val_loss,5.8,")
        for r in table1_rows("tiny", 6.0, 6.3)
    ]
    rows.append("table1,gpt2-medium,inheritune_round1,Ours,4,200,102400,val_loss,6.1,0.001,tiny,1338")
    write(tmp_path / "table1" / "table1.csv", [HEADER, *rows])
    line = ledger(tmp_path)["parity"].ours[0].lines[-1]
    assert "rounds per seed [1, 2, 1], final depth [4, 6]L: grew in 1 of 3 seeds" in line, line


def test_one_round_that_did_not_reach_the_reference_is_not_called_parity(tmp_path):
    rows = table1_rows(
        "tiny", 6.000, 6.300, ours=6.5
    )  # one round, at the target depth, worse than the reference
    rows.append(
        "table1,gpt2-medium,reference,rand init,8,200,102400,lambada_openai_acc,99.0,,tiny,1337"
    )  # not a loss
    write(tmp_path / "table1" / "table1.csv", [HEADER, *rows])
    line = ledger(tmp_path)["parity"].ours[0].lines[-1]
    assert line.endswith("one round in every seed, at the target depth, without reaching the reference"), line
