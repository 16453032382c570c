"""inheritune_core: the library behind the Inheritune reproduction package.

Public names are resolved lazily, so `import inheritune_core` is cheap (no torch until a model is used) and
`report.py` can draw tables from CSVs without importing torch.
"""

from __future__ import annotations

import importlib

from .paths import set_compile_cache

set_compile_cache()

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # config
    "MODEL_PRESETS": "config", "OPTIM_PRESETS": "config", "SCALES": "config", "ConfigError": "config",
    "get_scale": "config", "get_preset": "config",
    # model
    "GPT": "model", "GPTConfig": "model",
    # data
    "load_tokenizer": "data", "prepare_corpus": "data", "TokenData": "tokens", "load_token_data": "tokens",
    "DataError": "tokens",
    # training
    "TrainConfig": "train", "train": "train", "TrainResult": "train",
    "TrainingDiverged": "train", "evaluate_loss": "train", "kd_loss": "train", "load_checkpoint": "train",
    "RandomBatchSampler": "sampling", "SequentialBatchSampler": "sampling", "make_sampler": "sampling",
    # inherit / grow / baselines (issue: the Inheritune recipe)
    "inherit": "inherit", "grow": "inherit",
    "from_layers": "inherit", "random_init": "inherit", "stack": "inherit", "hybrid_stack": "inherit",
    "half_width": "inherit", "lazy_layer_init": "inherit", "distilbert_init": "inherit",
    "distilbert_layers": "inherit", "PARTS": "inherit",
    "run_inheritune": "recipe", "RecipeRows": "recipe",
    # Hugging Face interop and evaluation
    "gpt_to_hf": "hf", "hf_to_gpt": "hf", "export_hf": "hf", "load_hf": "hf",
    "evaluate": "evaluate", "EvaluationError": "evaluate", "TABLE1_TASKS": "evaluate",
    "TABLE4_TASKS": "evaluate", "TABLE5_TASKS": "evaluate",
    # attention analysis
    "approx_rank": "analysis", "column_mass": "analysis", "rank_and_mass": "analysis", "HeadStats": "analysis",
    "head_stats": "analysis", "attention_stats": "analysis", "analyze_model": "analysis",
    "lazy_layer_report": "analysis", "lazy_layers": "analysis", "sample_windows": "analysis",
    "attention_probs": "references", "collect_attention": "references", "attention_maps": "references",
    "load_reference": "references",
    # low-data regime (LLaMA family)
    "load_llama_reference": "llama", "truncate_llama": "llama",
    "run_lowdata": "lowdata", "LOWDATA_SCALES": "lowdata", "estimate_peak_memory": "lowdata",
    # runs, results and the paper
    "RunSpec": "experiments", "RunRecord": "experiments", "make_spec": "experiments",
    "run_or_load": "experiments", "reference_run": "experiments", "write_csv": "experiments",
    "render": "report", "render_all": "report",
    "render_lowdata_all": "report_lowdata", "epochs_vs_fresh_rows": "lowdata", "epochs_vs_fresh_plan": "lowdata",
    "table8_rows": "lowdata", "slice_token_data": "lowdata",
    # data
    "fetch_gpt2_vocab": "data", "HFTokenizer": "data", "open_split": "data", "ShardedTokens": "data",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'inheritune_core' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
