"""Kernels that write into a given output (the engine's copy-free path)."""

import numpy as np
import pytest

from napari_thunder.kernels import filters as f


def test_subtract_into_out_equals_numpy():
    block = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4) + 10
    frame = np.full((3, 4), 7, np.uint16)
    out = np.empty_like(block)
    assert f.subtract_block(block, frame, out=out) is out
    np.testing.assert_array_equal(out, block - frame)
    with pytest.raises(TypeError):  # the result would be float64: not written into uint16
        f.subtract_block(block, 0.5, out=np.empty_like(block))


def test_subsample_into_out_equals_numpy():
    block = np.arange(2 * 5 * 6, dtype=np.int16).reshape(2, 5, 6)
    out = np.empty((2, 3, 2), np.int16)
    assert f.subsample_block(block, (2, 3), out=out) is out
    np.testing.assert_array_equal(out, block[:, ::2, ::3])
    with pytest.raises(ValueError):
        f.subsample_block(block, 2, out=np.empty((2, 2, 2), np.int16))
