"""Experiments: hashed runs that are never trained twice (`runs`), one function per table or figure of the paper
(`gpt2`: Tables 1-4 and Figures 3-8; `attention`: Figures 1, 2, 9; `lowdata`: Appendix B)."""
