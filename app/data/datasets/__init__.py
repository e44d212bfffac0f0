"""Loaders for the team's labelled research datasets (read from ../shared/data, never copied)."""
