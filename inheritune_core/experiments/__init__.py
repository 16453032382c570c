"""Experiments: hashed runs that are never trained twice (`runs`), one function per table or figure of the paper
(`gpt2`: Tables 1-4 and Figures 3-8; `attention`: Figures 1, 2, 9; `lowdata`: Appendix B; `layer_selection`).

The GPT-2 tables are declared arms (`arms`) run by one driver (`driver`: seeds, data streams of `streams`,
runs of `builders`, rows, curves, `downstream` columns) and priced by `plan`; `setup` holds the shared
`Setup`, `results` writes CSVs per scale."""
