"""The method: pure model -> model functions (`inheritance`: inherit, grow and every baseline initialisation) and
Algorithm 1, the growth loop (`recipe`: `run_inheritune` with one `RecipeConfig`; `python -m
inheritune_core.method.recipe` or `inheritune recipe`)."""
