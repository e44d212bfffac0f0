"""Datasets, losses, augmentations and training loops."""
