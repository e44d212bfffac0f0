"""Data the lab trains and evaluates on: loaders for the team's labelled research datasets (read from
../shared/data, never copied) and the clinical-export / vendor degradations used as augmentation and stress tests."""
