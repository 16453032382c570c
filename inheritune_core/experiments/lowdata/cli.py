"""`python -m inheritune_core.experiments.lowdata prepare|train|memory`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from ...errors import ConfigError
from .memory import paper_memory_estimate
from .scales import LOWDATA_SCALES, get_lowdata_scale
from .targets import prepare_lowdata_corpus, run_lowdata

# Multi-GPU (DDP): prepare the corpus once in one process, then train on every GPU of the node.
TORCHRUN_COMMANDS = (
    "python -m inheritune_core.experiments.lowdata prepare --scale paper",
    "torchrun --standalone --nproc_per_node=8 -m inheritune_core.experiments.lowdata train --scale paper --device cuda",
)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.experiments.lowdata",
        description="Appendix B: train the first n layers of a LLaMA-family reference.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every option's help shows its default
    )
    parser.add_argument(
        "command",
        choices=("prepare", "train", "memory"),
        help="prepare: tokenize the scale's corpus with the reference's tokenizer; train: the n-layer target; "
        "memory: the paper run's estimated peak GPU memory (GiB)",
    )
    parser.add_argument("--scale", default="tiny", help="low-data scale: " + ", ".join(LOWDATA_SCALES))
    parser.add_argument(
        "--reference",
        default=None,
        help="smollm2-135m, a Hugging Face name or a local folder; not given: the scale's reference",
    )
    parser.add_argument(
        "--n-layers", type=int, default=None, help="layers of the target; not given: the scale's n"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    parser.add_argument("--micro-batch", type=int, default=4, help="memory: sequences per forward pass")
    args = parser.parse_args(argv)
    try:
        if args.command == "memory":
            print(
                json.dumps(
                    {k: round(v, 2) for k, v in paper_memory_estimate(args.micro_batch).items()}, indent=1
                )
            )
        elif args.command == "prepare":
            from ...models.llama import load_llama_reference

            s = get_lowdata_scale(args.scale, reference=args.reference)
            _, tokenizer = load_llama_reference(s.reference)
            print(prepare_lowdata_corpus(tokenizer, s.reference, s).root)
        else:
            record = run_lowdata(args.reference, args.n_layers, args.scale, device=args.device)
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"{record.run_dir}: val loss {record.final_val_loss:.4f} after {record.steps} steps")
    except (ConfigError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
