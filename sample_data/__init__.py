"""Bundled example datasets (synthetic; see README.md in this folder)."""
