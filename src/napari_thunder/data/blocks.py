"""``Blocks``: the stack cut into spatial tiles, each holding every image."""

from __future__ import annotations

import re

import numpy as np

_UNITS = {"": 2**10, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30, "GB": 2**30}


def parse_block_bytes(size) -> int:
    """Bytes per block from a size string: a bare number is kilobytes
    (Thunder 1.4.2), or with a unit ``'K'``, ``'M'``, ``'G'``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", str(size).upper())
    if not match:
        raise ValueError(
            f"size must be 'auto', a tuple of pixels per axis, or a size such as '150' (KB) "
            f"or '2M'; got {size!r}"
        )
    nbytes = float(match.group(1)) * _UNITS[match.group(2)]
    if nbytes <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return int(nbytes)


def tile_shape_for(size, shape, dtype) -> tuple[int, ...]:
    """Spatial tile shape for ``toblocks(size)`` on a stack of ``shape``.

    ``'auto'`` gives one tile of the whole image; a tuple gives pixels per
    image axis; a size in bytes splits the image along its first axes so that
    a tile of all ``n`` images stays within that size.
    """
    value_shape = tuple(int(s) for s in shape[1:])
    if isinstance(size, str) and size.strip().lower() == "auto":
        return value_shape
    if isinstance(size, (tuple, list)):
        if len(size) != len(value_shape):
            raise ValueError(
                f"size must give one tile length per image axis ({len(value_shape)}), got {size!r}"
            )
        tile = tuple(int(t) for t in size)
        if any(t <= 0 for t in tile):
            raise ValueError(f"size must be positive on every axis, got {size!r}")
        return tuple(min(t, s) for t, s in zip(tile, value_shape))
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = str(int(size))
    nbytes = parse_block_bytes(size)
    per_pixel = max(1, int(shape[0])) * np.dtype(dtype).itemsize
    pixels = max(1, nbytes // per_pixel)
    # split the leading axes first, keep trailing axes whole where possible
    tile = list(value_shape)
    for axis in range(len(tile)):
        rest = int(np.prod(tile[axis + 1:], dtype=np.int64))
        if rest * tile[axis] <= pixels:
            break
        tile[axis] = max(1, pixels // rest) if rest <= pixels else 1
    return tuple(tile)


class Blocks:
    """Spatial blocks of an image stack.

    Every block is an ndarray ``(n,) + tile`` holding all ``n`` images of one
    spatial tile. Made by ``Images.toblocks``, which passes its metadata:
    ``toimages``/``toseries`` give them back (the time axis reset to the
    defaults when :meth:`map` changes the number of images).
    """

    def __init__(self, store, metadata=None):
        self.store = store
        self._metadata = metadata

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the whole stack, ``(n,) + value_shape``."""
        return tuple(self.store.shape)

    @property
    def blockshape(self) -> tuple[int, ...]:
        """Nominal shape of one block, ``(n,) + tile_shape``."""
        return (self.shape[0],) + tuple(self.store.tile_shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.store.dtype)

    @property
    def mode(self) -> str:
        return self.store.mode

    def count(self) -> int:
        """Number of blocks.

        Returns
        -------
        int
            How many spatial tiles the stack is cut into (the product of the block
            grid's shape).
        """
        return self.store.count()

    def map(self, func, value_shape=None, dtype=None) -> Blocks:
        """Apply ``func(block) -> block`` to every block.

        The result may change the length of axis 0 (``value_shape[0]``) but
        not the spatial shape. Without hints, ``func`` is run once on the
        first block to find them.

        Parameters
        ----------
        func : callable
            ``func(block) -> ndarray``: takes one block of shape ``(n,) + tile``
            and returns an array of shape ``(m,) + tile``, with the same tile.
        value_shape : tuple of int, optional
            Shape of the result's images; only ``value_shape[0]`` (the new
            length ``m`` of axis 0) is used. Default: found by running ``func`` on
            the first block.
        dtype : numpy dtype, optional
            dtype of the result. Default: the dtype of ``func`` on the first
            block. With both ``value_shape`` and ``dtype`` no block is probed.

        Returns
        -------
        Blocks
            The mapped blocks on the same engine, ``m`` images of the same image
            shape and tiling, of ``dtype``.
        """
        if value_shape is None or dtype is None:
            probe = np.asarray(func(self.store.collect_blocks()[0]))
            length = probe.shape[0] if value_shape is None else int(value_shape[0])
            dtype = probe.dtype if dtype is None else dtype
        else:
            length = int(value_shape[0])
        metadata = self._metadata
        if metadata is not None and int(length) != self.shape[0]:
            from napari_thunder.data.series import default_time_axis

            metadata = default_time_axis(metadata)
        return Blocks(self.store.map(func, length, np.dtype(dtype)), metadata)

    def collect_blocks(self) -> list[np.ndarray]:
        """Every block as an ndarray, in C order of the block grid.

        Returns
        -------
        list of ndarray
            One array of shape ``(n,) + tile`` per block; blocks on the lower and
            right edges of the grid may be smaller than ``blockshape``.
        """
        return self.store.collect_blocks()

    def toarray(self) -> np.ndarray:
        """The whole stack, squeezed like ``Images.toarray``.

        Returns
        -------
        ndarray
            The blocks put back together: shape ``(n,) + value_shape`` with axes
            of length 1 removed, of this dtype.
        """
        return self.store.collect().squeeze()

    def toimages(self):
        """Back to ``Images``.

        Returns
        -------
        Images
            ``n`` images of ``value_shape`` on the same engine, holding the same
            pixels as the blocks.
        """
        from napari_thunder.data.images import Images

        return Images(self.store.to_frames(), self._metadata)

    def toseries(self):
        """Pixel series view (``Series``).

        Returns
        -------
        Series
            One record of length ``n`` per pixel: shape ``value_shape + (n,)``,
            as ``Images.toseries`` gives.
        """
        from napari_thunder.data.images import Images

        return Images(self.store.to_frames(), self._metadata).toseries()

    def __repr__(self) -> str:
        return (f"Blocks\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}\n"
                f"blockshape: {self.blockshape}")
