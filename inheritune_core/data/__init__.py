"""Data: tokenizers (`tokenizer`), corpora -> token files (`corpora`), token files on disk (`tokens`), batch
samplers (`sampling`). `python -m inheritune_core.data prepare` prepares a corpus."""
