"""Fixtures shared by the test modules."""

from __future__ import annotations

import copy

import pytest

from skmil.datasets import make_mil_classification


@pytest.fixture(scope="session")
def mil_problem():
    """``mil_problem(**kwargs)``: ``make_mil_classification(**kwargs)``, built once per session.

    Test modules ask for their synthetic problems through this factory, so the same
    problem requested by several modules (or several fixtures) is generated once. Each
    call returns its own deep copy of ``(bags, y, instance_labels)``: a test that edits
    its bags in place cannot change what another test sees.
    """
    built: dict[tuple, tuple] = {}

    def make(**kwargs):
        key = tuple(sorted(kwargs.items()))
        if key not in built:
            built[key] = make_mil_classification(**kwargs)
        return copy.deepcopy(built[key])

    return make
