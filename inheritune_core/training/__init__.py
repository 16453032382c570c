"""Training: one loop for every model (accumulation, bf16, compile, DDP, KD, checkpoints, exact resume).
`python -m inheritune_core.training ...` trains one model from the command line."""
