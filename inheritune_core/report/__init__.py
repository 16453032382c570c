"""Report: CSV -> the tables and figures under paper/ (`tables`, `figures`, `lowdata`) and the claims ledger
paper/REPRODUCTION.md (`claims`; its verdict rules in `verdicts`, the judging of a claim's comparisons in
`comparisons`, the claims with special evidence in `evidence`, the next scale's command and cost in
`next_scale`). Every results CSV is checked before it is read (`checks`); a CSV holding several scales is shown
at the largest one other than the test scale smoke (`scales`). Never imports torch.
`python -m inheritune_core.report` (`make paper`) redraws everything from the committed CSVs."""
