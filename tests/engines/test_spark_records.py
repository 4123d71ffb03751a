"""The parts of the Spark engine that need no SparkContext: importing the
package (pyspark stays unimported) and the executor-side record functions,
called directly on records."""

import subprocess
import sys

import numpy as np
import pytest

from napari_thunder.engines.spark.records import _MapBlocks, _ReadRanges
from napari_thunder.engines.spark.tiles import _MapTile
from napari_thunder.io.source import FrameSource


class _ShortRows(FrameSource):
    """Says frames are 3 x 4 but reads 3 x 3 (a broken reader)."""

    shape = (5, 3, 4)
    dtype = np.dtype(np.uint16)

    def read(self, start, stop):
        return np.zeros((stop - start, 3, 3), np.uint16)


class _Floats(FrameSource):
    """Frame i is full of i + 0.75, read as float64, declared uint8."""

    shape = (4, 2, 2)
    dtype = np.dtype(np.uint8)

    def read(self, start, stop):
        return np.arange(start, stop, dtype=np.float64)[:, None, None] + np.full((1, 2, 2), 0.75)


def _records(stack, first=0):
    return [((first + k,), stack[k]) for k in range(stack.shape[0])]


def test_read_ranges_names_the_reader_and_range_on_a_wrong_shape():
    with pytest.raises(ValueError) as info:
        list(_ReadRanges(_ShortRows(), 2**20)([(1, 4)]))
    assert str(info.value) == "_ShortRows.read(1, 4) returned shape (3, 3, 3), expected (3, 3, 4)"


def test_read_ranges_casts_to_the_declared_dtype_in_bounded_reads():
    # 8 bytes per frame, blocks of 16 bytes: reads (0, 2), (2, 3)
    records = list(_ReadRanges(_Floats(), 16)([(0, 3)]))
    assert [key for key, _ in records] == [(0,), (1,), (2,)]
    for i, (_, frame) in enumerate(records):
        assert frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, np.full((2, 2), i, np.uint8))


def test_map_blocks_names_the_frames_on_a_wrong_shape():
    stack = np.arange(2 * 3 * 6, dtype=np.int16).reshape(2, 3, 6)
    apply = _MapBlocks(lambda block, start: block[:, :, :5], (3, 6), np.int16, 2**20)
    with pytest.raises(ValueError) as info:
        list(apply(_records(stack, first=3)))
    assert str(info.value) == ("map function returned a block of shape (2, 3, 5) for frames 3..4, "
                               "expected (2, 3, 6)")


def test_map_blocks_casts_and_keeps_keys():
    stack = np.arange(3 * 2, dtype=np.int16).reshape(3, 2)
    apply = _MapBlocks(lambda block, start: block * 0.5 + start, (2,), np.float32, 2**20)
    out = list(apply(_records(stack, first=7)))
    assert [key for key, _ in out] == [(7,), (8,), (9,)]
    assert all(value.dtype == np.float32 for _, value in out)
    np.testing.assert_array_equal(np.stack([v for _, v in out]), stack * 0.5 + 7)


def test_map_tile_names_the_tile_on_a_wrong_shape_and_casts():
    tile = np.arange(4 * 2, dtype=np.float64).reshape(4, 2)
    with pytest.raises(ValueError) as info:
        list(_MapTile(lambda t: t[:3], 4, np.float64)([(7, tile)]))
    assert str(info.value) == "block function returned shape (3, 2) for tile 7, expected (4, 2)"
    ((key, out),) = list(_MapTile(lambda t: t.sum(axis=0, keepdims=True), 1, np.int32)([(2, tile)]))
    assert key == 2 and out.dtype == np.int32
    np.testing.assert_array_equal(out, [[12, 16]])


def test_importing_the_spark_engine_does_not_import_pyspark():
    code = (
        "import sys\n"
        "import napari_thunder.engines.spark as spark\n"
        "from napari_thunder.engines.spark import (SparkBlockStore, SparkFrames, SparkTaskError,\n"
        "    get_or_create_context, resolve_context, stop_context)\n"
        "import napari_thunder.engines.spark.context, napari_thunder.engines.spark.frames\n"
        "assert stop_context() is False\n"
        "print(sorted(m for m in ('pyspark', 'py4j') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
