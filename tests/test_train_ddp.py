"""DDP on CPU (gloo through torchrun): 2 processes give the loss curve of 1 process at the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training.trainer import TrainConfig, read_metrics, train

# Global batch 2 micro-batches of 2 x 32 tokens: 1 process accumulates 2, 2 processes take 1 each. The sampler
# gives global micro-batch i to rank i % world_size, so both setups see exactly the same data.
CONFIG = dict(
    micro_batch=2,
    batch_tokens=2 * 2 * 32,
    max_steps=5,
    eval_interval=5,
    eval_iters=2,
    log_interval=1,
    progress=False,
)

WORKER = textwrap.dedent(f"""
    import os
    import sys
    import torch
    from inheritune_core.models.gpt import GPT, GPTConfig
    from inheritune_core.data.tokens import load_token_data
    from inheritune_core.training.trainer import TrainConfig, train

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    cfg = TrainConfig.from_preset("gpt2-medium", "smoke", sys.argv[2], **{CONFIG!r})
    result = train(model, load_token_data(sys.argv[1]), cfg)
    torch.save(model.state_dict(), sys.argv[2] + "/final_rank" + os.environ["RANK"] + ".pt")
""")


@pytest.mark.slow  # two torchrun processes: a minute or more on 2 cores
def test_two_gloo_processes_match_one_process(random_token_data, tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    single = train(
        model, random_token_data, TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "one", **CONFIG)
    )

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "two"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(random_token_data.root),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    one_rows, two_rows = read_metrics(single.metrics_csv), read_metrics(out / "metrics.csv")
    assert [r["step"] for r in two_rows] == [r["step"] for r in one_rows] == list(range(6))
    for a, b in zip(one_rows, two_rows):
        for col in ("train_loss", "val_loss", "lr", "tokens"):
            if a[col] is None:
                assert b[col] is None
            else:
                assert b[col] == pytest.approx(a[col], rel=1e-4), (a["step"], col)
    # Both ranks end with the same weights (DDP keeps replicas in sync), close to the single process's.
    rank0, rank1 = (torch.load(out / f"final_rank{r}.pt") for r in range(2))
    for name, tensor in model.state_dict().items():
        assert torch.equal(rank0[name], rank1[name]), name
        torch.testing.assert_close(rank0[name], tensor, atol=1e-4, rtol=1e-3, msg=name)
