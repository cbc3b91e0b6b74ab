"""Helpers of tests/test_readme.py: the README's blocks and tables, its shell examples run in
process, and the files those examples name."""
