"""Compiled kernels over the flat ``(instances, offsets)`` bag layout (private)."""
