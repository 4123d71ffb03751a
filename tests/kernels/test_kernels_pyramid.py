"""Pyramid halving kernel against skimage and explicit loops."""

import numpy as np
import pytest

from napari_thunder.kernels.pyramid import halve_block, level_shape, pyramid_blocks


def _loop_mean(frames, pad_last=True):
    """Reference: every 2x2 box of the last two axes averaged by explicit loops,
    the last row/column repeated when a size is odd."""
    h, w = frames.shape[-2:]
    out = np.empty(frames.shape[:-2] + (-(-h // 2), -(-w // 2)))
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            rows = [min(2 * i, h - 1), min(2 * i + 1, h - 1)]
            cols = [min(2 * j, w - 1), min(2 * j + 1, w - 1)]
            box = frames[..., rows, :][..., cols]
            out[..., i, j] = box.mean(axis=(-2, -1))
    return out


def test_even_float_matches_skimage():
    from skimage.transform import downscale_local_mean

    block = np.random.RandomState(0).rand(3, 16, 12)
    np.testing.assert_allclose(halve_block(block, (1, 2)), downscale_local_mean(block, (1, 2, 2)),
                               rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.float32])
def test_odd_sizes_every_dtype(dtype):
    rng = np.random.RandomState(1)
    block = (rng.rand(2, 7, 9) * 200).astype(dtype)
    out = halve_block(block, (1, 2))
    reference = _loop_mean(block.astype(np.float64))
    assert out.dtype == block.dtype and out.shape == (2, 4, 5)
    if np.dtype(dtype).kind in "iu":
        np.testing.assert_array_equal(out, np.rint(reference).astype(dtype))
    else:
        np.testing.assert_allclose(out, reference, rtol=1e-6)


def test_nearest_bool_and_no_axes():
    block = np.random.RandomState(2).rand(2, 5, 6)
    np.testing.assert_array_equal(halve_block(block, (1, 2), "nearest"), block[:, ::2, ::2])
    mask = block > 0.5
    np.testing.assert_array_equal(halve_block(mask, (1, 2)), mask[:, ::2, ::2])
    copy = halve_block(block, ())
    np.testing.assert_array_equal(copy, block)
    assert copy is not block


def test_pyramid_levels_chain_and_shapes():
    block = np.random.RandomState(3).randint(0, 60000, (2, 3, 21, 34)).astype(np.uint16)
    levels = pyramid_blocks(block, (2, 3), 4)
    assert [lv.shape for lv in levels] == [level_shape(block.shape, (2, 3), k) for k in range(4)]
    assert levels[3].shape == (2, 3, 3, 5)
    np.testing.assert_array_equal(levels[2], halve_block(halve_block(block, (2, 3)), (2, 3)))
    assert levels[1].max() <= block.max() and levels[1].min() >= block.min()
