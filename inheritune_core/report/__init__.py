"""Report: CSV -> the tables and figures under paper/ (`tables`, `figures`, `lowdata`). Never imports torch.
`python -m inheritune_core.report` (`make paper`) redraws everything from the committed CSVs."""
