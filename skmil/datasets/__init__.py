"""Data sets: the five classic MIL benchmarks and generators with instance labels."""

from ._classic import (
    DATASETS,
    load_dataset,
    load_elephant,
    load_fox,
    load_musk1,
    load_musk2,
    load_tiger,
    read_mil_csv,
)
from ._generators import make_digits_bags, make_mil_classification, make_mil_regression

__all__ = [
    "DATASETS",
    "load_dataset",
    "load_musk1",
    "load_musk2",
    "load_fox",
    "load_tiger",
    "load_elephant",
    "read_mil_csv",
    "make_mil_classification",
    "make_mil_regression",
    "make_digits_bags",
]
