"""inheritune_core: the library behind the Inheritune reproduction package.

Public names are resolved lazily, so `import inheritune_core` is cheap (no torch until a model is used) and
`report` can draw tables from CSVs without importing torch.
"""

from __future__ import annotations

import importlib

from .paths import set_compile_cache

set_compile_cache()

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # config
    "MODEL_PRESETS": "config",
    "OPTIM_PRESETS": "config",
    "SCALES": "config",
    "ConfigError": "errors",
    "get_scale": "config",
    "get_preset": "config",
    # model
    "GPT": "models.gpt",
    "GPTConfig": "models.gpt",
    # data
    "load_tokenizer": "data.tokenizer",
    "prepare_corpus": "data.corpora",
    "TokenData": "data.tokens",
    "load_token_data": "data.tokens",
    "DataError": "errors",
    # training
    "TrainConfig": "training.config",
    "train": "training.loop",
    "TrainResult": "training.config",
    "TrainState": "training.state",
    "TrainingDiverged": "errors",
    "TrainingInterrupted": "errors",
    "run_folder_lock": "io",
    "evaluate_loss": "training.validation",
    "validation_loss": "training.validation",
    "run_accounting": "training.accounting",
    "kd_loss": "training.optim",
    "load_checkpoint": "training.checkpoint",
    "RandomBatchSampler": "data.sampling",
    "SequentialBatchSampler": "data.sampling",
    "make_sampler": "data.sampling",
    # inherit / grow / baselines (issue: the Inheritune recipe)
    "inherit": "method.inheritance",
    "grow": "method.inheritance",
    "from_layers": "method.inheritance",
    "random_init": "method.inheritance",
    "stack": "method.inheritance",
    "hybrid_stack": "method.inheritance",
    "half_width": "method.inheritance",
    "lazy_layer_init": "method.inheritance",
    "distilbert_init": "method.inheritance",
    "distilbert_layers": "method.inheritance",
    "PARTS": "method.inheritance",
    "run_inheritune": "method.recipe",
    "figure1_training": "experiments.gpt2",
    "render_ledger": "report.claims",
    "RecipeRows": "method.recipe",
    "RecipeConfig": "method.recipe",
    # Hugging Face interop and evaluation
    "gpt_to_hf": "models.hf",
    "hf_to_gpt": "models.hf",
    "export_hf": "models.hf",
    "load_hf": "models.hf",
    "evaluate": "evaluation.harness",
    "EvaluationError": "errors",
    "TABLE1_TASKS": "evaluation.tasks",
    "TABLE4_TASKS": "evaluation.tasks",
    "TABLE5_TASKS": "evaluation.tasks",
    "define_group": "evaluation.local",
    "register_converter": "evaluation.converters",
    # attention analysis
    "approx_rank": "analysis.degeneration",
    "column_mass": "analysis.degeneration",
    "rank_and_mass": "analysis.degeneration",
    "HeadStats": "analysis.degeneration",
    "head_stats": "analysis.degeneration",
    "attention_stats": "analysis.degeneration",
    "analyze_model": "analysis.degeneration",
    "lazy_layer_report": "analysis.degeneration",
    "lazy_layers": "analysis.degeneration",
    "sample_windows": "analysis.degeneration",
    "attention_probs": "analysis.attention",
    "collect_attention": "analysis.attention",
    "attention_maps": "analysis.attention",
    "load_reference": "analysis.attention",
    # which layers to inherit (issue 12): per-layer evidence, the plan, the layer-selection experiment
    "collect_layer_evidence": "analysis.layers",
    "block_influence": "analysis.layers",
    "angular_distances": "analysis.layers",
    "plan": "analysis.plan",
    "PlanConfig": "analysis.plan",
    "suggest_n": "analysis.plan",
    "layer_selection": "experiments.layer_selection",
    "select_layers": "models.llama",
    "load_pretrained_reference": "models.llama",
    # low-data regime (LLaMA family)
    "load_llama_reference": "models.llama",
    "truncate_llama": "models.llama",
    "run_lowdata": "experiments.lowdata",
    "LOWDATA_SCALES": "experiments.lowdata",
    "estimate_peak_memory": "experiments.lowdata",
    # runs, results and the paper
    "RunSpec": "experiments.runs",
    "RunRecord": "experiments.runs",
    "make_spec": "experiments.runs",
    "run_or_load": "experiments.runs",
    "reference_run": "experiments.runs",
    "write_csv": "io",
    "render": "report.tables",
    "render_all": "report.tables",
    "render_lowdata_all": "report.lowdata",
    "epochs_vs_fresh_rows": "experiments.lowdata",
    "epochs_vs_fresh_plan": "experiments.lowdata",
    "table8_rows": "experiments.lowdata",
    "slice_token_data": "experiments.lowdata",
    # data
    "fetch_gpt2_vocab": "data.tokenizer",
    "HFTokenizer": "data.tokenizer",
    "ShardedTokens": "data.tokens",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'inheritune_core' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
