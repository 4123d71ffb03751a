"""Mergeable accumulators for statistics across frames.

Both classes follow the accumulator protocol of
:mod:`napari_thunder.engines.base`:

``acc.add(block, start) -> acc``
    fold a block ``(k,) + value_shape`` of consecutive frames in (in place);
``acc.merge(other) -> acc``
    combine with another partial accumulator (in place on ``acc``);
``acc.empty() -> acc``
    a fresh accumulator with the same parameters.

Their state is a handful of arrays of ``value_shape`` (never a copy of the
stack), so they are cheap to pickle between Spark executors and the driver, and
``finalize`` works on a partial accumulator too (running estimates in the GUI).

Numerics of :class:`MomentAccumulator`
-------------------------------------
For integer inputs of at most 16 bits (and bool) the state is exact: int64
sums ``S1 = sum(x)`` and ``S2 = sum(x**2)`` per pixel, added block after
block and partial after partial (integer additions: any order gives the same
bits). Mean, ``M2 = (n*S2 - S1**2) / n`` and var/std are formed from them
once, in :meth:`MomentAccumulator.finalize`: the exact integer
``n*S2 - S1**2`` rounded once, so more accurate than numpy's two-pass float
result. Up to ``block_moments.narrow_group_limit`` frames (32768 for 16-bit
data) it is formed in int64; past it, exactly in 32-bit limbs
(``block_moments.m2_numerator``). ``S2`` itself must stay below 2**63, so
after ``block_moments.exact_group_limit`` frames (2**31 - 1 for 16-bit data)
the integer group is turned into float64 moments and merged with Chan et
al.'s formulas into the earlier ones.

Other dtypes keep mean and ``M2`` in float64, merged with Chan's formulas;
inside a block the frames are processed in small tiles (a few frames x a few
thousand pixels, well under 16 MB of float64 at any time), each tile centred
on its own mean (two passes, no catastrophic cancellation for data with a
large offset and a small variance).

When numba is installed, 8/16-bit integer blocks of at least
``block_moments.JIT_MIN_VALUES`` values get their integer sums (and min/max) from
compiled, cache-blocked loops in :mod:`._jit` (chosen in :mod:`.block_moments`): one pass over the block, the
sums of a tile of pixels held in cache while every frame streams through,
the same bits as the numpy path (every intermediate is an exact integer).
The plain sums run in int32 arrays kept from block to block and added to the
int64 group sums only before they could overflow (``block_moments.partial_frame_limit``)
or when the state is read, so a block costs one pass over its frames and
the int32 sums, nothing more. Set ``NAPARI_THUNDER_NO_JIT=1`` to use numpy
only.
"""

from __future__ import annotations

import functools

import numpy as np

from napari_thunder.kernels import block_moments

__all__ = ["MomentAccumulator", "ReduceAccumulator", "STATS"]

#: statistics a :class:`MomentAccumulator` can produce
STATS = ("mean", "var", "std", "sum", "min", "max")


def frames_block(block, value_shape: tuple[int, ...]) -> np.ndarray:
    """``block`` as an array of frames ``(k,) + value_shape``.

    Raises
    ------
    ValueError
        If its frames do not have ``value_shape``.
    """
    block = np.asarray(block)
    if block.shape[1:] != tuple(value_shape):
        raise ValueError(f"block must have shape (k,) + {tuple(value_shape)}, got {block.shape}")
    return block


class MomentAccumulator:
    """Streaming, mergeable mean/var/std/sum/min/max across frames.

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one frame.
    dtype : numpy dtype
        dtype of the frames (decides the result dtypes, as numpy does).
    stats : sequence of str
        Statistics to compute, any of ``STATS``; only the work they need is
        done (``('mean',)`` skips second moments, min/max are skipped unless
        asked for).

    Notes
    -----
    ``finalize(stat)`` returns numpy's result for ``stack.<stat>(axis=0)``:
    same dtype (mean/var/std float64 for integer and bool input, float32 for
    float32; sum int64/uint64 for integers, exact; min/max in the input
    dtype), population var/std (ddof=0). Floating results are computed in
    float64 and rounded once, so they can be more accurate than numpy's.
    """

    def __init__(self, value_shape, dtype, stats=STATS):
        self.value_shape = tuple(int(d) for d in value_shape)
        self.dtype = np.dtype(dtype)
        if isinstance(stats, str):
            stats = (stats,)
        stats = tuple(stats)
        unknown = [s for s in stats if s not in STATS]
        if unknown or not stats:
            raise ValueError(f"stats must be a non-empty subset of {STATS}, got {stats!r}")
        if not (np.issubdtype(self.dtype, np.integer) or np.issubdtype(self.dtype, np.floating)
                or self.dtype == np.bool_):
            raise TypeError(f"statistics need real numeric frames, got dtype {self.dtype}")
        self.stats = stats
        self._need_m2 = "var" in stats or "std" in stats
        self._need_mean = "mean" in stats and not self._need_m2
        self._need_sum = "sum" in stats
        self.count = 0
        self.mean = None  # float64, when var/std are asked for
        self.m2 = None  # float64 second central moment
        self.sum64 = None  # float64 sum, for the mean alone
        self.total = None  # exact sum in numpy's sum dtype (float64 for floats)
        self.low = None
        self.high = None
        #: exact integer state (<=16-bit integers and bools): int64 sums of
        #: the frames of the current group (and of their squares for var/std)
        self._exact = block_moments.exact_integer_path(self.dtype) and (
            self._need_m2 or self._need_mean or self._need_sum or "mean" in stats)
        self.g1 = None
        self.g2 = None
        self.gcount = 0
        #: int32 sums of the last ``pframes`` frames of the group, not yet in
        #: ``g1`` (compiled path only; ``g1`` may be None until
        #: :meth:`_settle`, which runs before anything reads the state)
        self.p1 = None
        self.pframes = 0
        #: the ``vpmaddwd`` loop's state of those frames (16-bit data, AVX2;
        #: cleared, not dropped, when settled: reused by the next frames)
        self.packed = None
        #: earlier groups (only past ``block_moments.exact_group_limit`` frames): their
        #: int64 sums and float64 ``(count, mean, m2)``
        self.base_s1 = None
        self.base = None

    # -- protocol ------------------------------------------------------------
    def empty(self) -> MomentAccumulator:
        """A fresh accumulator with the same value_shape, dtype and stats."""
        return MomentAccumulator(self.value_shape, self.dtype, self.stats)

    def order_free(self, nframes: int) -> bool:
        """Whether folding ``nframes`` frames in any grouping of blocks and
        merges gives the same bits: true for the exact integer state (integer
        additions; min/max) while the frames fit one exact group."""
        if np.issubdtype(self.dtype, np.floating):
            return False  # rounding (and signed zeros in min/max) depend on the order
        if not block_moments.exact_integer_path(self.dtype):
            # wider integers: exact sums, min and max; float64 moments
            return not (self._need_m2 or "mean" in self.stats)
        return not self._need_m2 or int(nframes) <= block_moments.exact_group_limit(self.dtype)

    def _sum_dtype(self) -> np.dtype:
        if np.issubdtype(self.dtype, np.floating):
            return np.dtype(np.float64)
        return block_moments.numpy_result_dtype(self.dtype, "sum")

    def add(self, block, start=0) -> MomentAccumulator:
        """Fold a block of frames ``(k,) + value_shape`` in; returns self."""
        block = frames_block(block, self.value_shape)
        k = block.shape[0]
        if k == 0:
            return self
        flat = block.reshape(k, -1)
        if self._exact:
            self._add_exact(flat)
            self._add_min_max(flat)
            self.count += k
            return self
        block_sum = None
        int_sum = None
        if self._need_sum:
            if int_sum is not None:
                block_sum = int_sum.astype(self._sum_dtype())
            else:
                block_sum = flat.sum(axis=0, dtype=self._sum_dtype())
            if self.total is None:
                self.total = block_sum.copy()
            else:
                self.total += block_sum
        if self._need_mean:
            if block_sum is not None and block_sum.dtype == np.float64:
                part = block_sum.copy()
            elif int_sum is not None:
                part = int_sum.astype(np.float64)  # exact: below 2**53
            else:
                part = flat.sum(axis=0, dtype=np.float64)
            if self.sum64 is None:
                self.sum64 = part
            else:
                self.sum64 += part
        if self._need_m2:
            mean, m2 = block_moments.tile_moments(flat)
            if self.count == 0:
                self.mean, self.m2 = mean, m2
            else:
                block_moments.chan_merge(self.count, self.mean, self.m2, k, mean, m2)
        self._add_min_max(flat)
        self.count += k
        return self

    def _add_min_max(self, flat: np.ndarray) -> None:
        """Fold the block's per-pixel min/max (when asked for) in."""
        do_low, do_high = "min" in self.stats, "max" in self.stats
        if not (do_low or do_high):
            return
        jit = block_moments.jit_loops(flat) if flat.dtype.kind in "iu" else None
        if jit is not None:
            first = (do_low and self.low is None) or (do_high and self.high is None)
            p = flat.shape[1]
            low = self.low if self.low is not None else np.empty(p, flat.dtype)
            high = self.high if self.high is not None else np.empty(p, flat.dtype)
            jit.min_max(np.ascontiguousarray(flat), low, high, do_low, do_high, first)
            self.low = low if do_low else None
            self.high = high if do_high else None
            return
        if do_low:
            low = np.min(flat, axis=0)
            self.low = low if self.low is None else np.minimum(self.low, low, out=self.low)
        if do_high:
            high = np.max(flat, axis=0)
            self.high = high if self.high is None else np.maximum(self.high, high, out=self.high)

    # -- exact integer state --------------------------------------------------
    def _add_exact(self, flat: np.ndarray) -> None:
        """Add the int64 sums (and sums of squares) of ``flat`` to the group,
        starting a new group whenever the current one is full."""
        if flat.dtype == np.bool_:
            flat = flat.view(np.uint8)
        flat = np.ascontiguousarray(flat)
        k, p = flat.shape
        # plain sums never overflow int64 (2**63 / 65535 frames); squares do
        limit = block_moments.exact_group_limit(self.dtype) if self._need_m2 else None
        i = 0
        while i < k:
            if limit is None:
                take = k
            else:
                if self.gcount >= limit:
                    self._spill()
                take = min(k - i, limit - self.gcount)
            piece = flat[i:i + take]
            jit = block_moments.jit_loops(piece)
            if jit is None:
                if self.g1 is None:
                    self.g1 = np.zeros(p, dtype=np.int64)
                if self._need_m2 and self.g2 is None:
                    self.g2 = np.zeros(p, dtype=np.int64)
                block_moments.integer_block_sums(piece, self.g1, self.g2)
            else:
                self._add_compiled(piece, jit)
            self.gcount += take
            i += take

    def _add_compiled(self, flat: np.ndarray, jit) -> None:
        """The compiled loop on ``flat``: plain sums into the int32 ``p1``
        (settled into ``g1`` first whenever they could overflow), squares
        straight into ``g2``; or, for the sums and squares of 16-bit frames
        on a processor with AVX2, both into the ``vpmaddwd`` state
        ``packed`` (:mod:`._simd_moments`), settled the same way. On such a
        processor the plain sums come from :func:`._simd_moments.plain_sums`
        (the same int32 ``p1``, prefetching ahead)."""
        squares = self._need_m2
        simd = block_moments.simd_squares(flat) if squares else None
        vector_sums = None if squares else block_moments.simd_sums(flat)
        k, p = flat.shape
        if simd is not None:
            if self.packed is None:
                # one allocation for the three arrays: malloc reuses a block
                # this size from one accumulator to the next, where three
                # smaller ones are handed back to the system and page-faulted
                # in again (~1 ms for 512x512 frames)
                lanes = simd.state_size(p)
                state = np.zeros(3 * lanes, dtype=np.uint32)
                self.packed = (state[:lanes].view(np.int32), state[lanes:2 * lanes], state[2 * lanes:])
            offset = simd.offset(flat.dtype)
        limit = self._partial_frame_limit()
        i = 0
        while i < k:
            if self.pframes >= limit:
                self._settle()
            take = min(k - i, limit - self.pframes)
            if simd is not None:
                simd.square_moments(flat[i:i + take], offset, simd.neutral_row(offset), *self.packed,
                                    simd.FUSED)
            else:
                if self.p1 is None:
                    self.p1 = np.zeros(p, dtype=np.int32)
                if squares and self.g2 is None:
                    self.g2 = np.zeros(p, dtype=np.int64)
                if vector_sums is not None:
                    vector_sums.plain_sums(flat[i:i + take], self.p1, vector_sums.tail_mask(p))
                else:
                    s2 = self.g2 if squares else block_moments.NO_SQUARES
                    jit.integer_moments(flat[i:i + take], self.p1, s2, squares)
            self.pframes += take
            i += take

    def _partial_frame_limit(self) -> int:
        """Frames the partial state may hold before it must be settled: its
        int32 sums cannot overflow (bools are added as uint8), nor, with the
        ``vpmaddwd`` state, its ``sum(y)``."""
        counted = np.dtype(np.uint8) if self.dtype == np.bool_ else self.dtype
        limit = block_moments.partial_frame_limit(counted)
        if self.packed is not None:
            limit = min(limit, block_moments.simd_module().MAX_FRAMES)
        return limit

    def _settle(self) -> None:
        """Add the int32 sums ``p1`` (and the ``vpmaddwd`` state, if any)
        into the group's int64 ``g1`` (which they become if the group has
        none yet) and ``g2``, and drop them."""
        if self.pframes:
            if self.packed is not None:  # sums and squares of every pixel
                p = int(np.prod(self.value_shape, dtype=np.int64))
                if self.g1 is None:
                    self.g1 = np.zeros(p, dtype=np.int64)
                if self.g2 is None:
                    self.g2 = np.zeros(p, dtype=np.int64)
                simd = block_moments.simd_module()
                simd.unpack_into(*self.packed, simd.shift(self.dtype), self.pframes, self.g1, self.g2)
            elif self.g1 is None:
                self.g1 = self.p1.astype(np.int64)
            else:
                self.g1 += self.p1
        self.p1 = None
        self.pframes = 0

    def __getstate__(self) -> dict:
        """Pickled settled (no compiled-path partial state: the receiving
        process may not have it)."""
        self._settle()
        state = self.__dict__.copy()
        state["packed"] = None
        return state

    def _spill(self) -> None:
        """Move the current integer group into the float64 base moments."""
        self._settle()
        if self.gcount == 0:
            return
        mean, m2 = block_moments.group_moments(self.gcount, self.g1, self.g2, self.dtype)
        self._merge_base(self.gcount, mean, m2, self.g1)
        self.g1 = None
        self.g2 = None
        self.gcount = 0

    def _merge_base(self, n: int, mean, m2, s1) -> None:
        """Chan-merge float moments (and add int sums) into the base."""
        if self.base is None:
            self.base = (n, mean.copy(), m2.copy())
            self.base_s1 = s1.copy()
            return
        count, b_mean, b_m2 = self.base
        block_moments.chan_merge(count, b_mean, b_m2, n, mean, m2)
        self.base = (count + n, b_mean, b_m2)
        self.base_s1 += s1

    def _exact_sums(self) -> np.ndarray:
        """int64 sums of every frame folded in."""
        if self.base_s1 is None:
            return self.g1
        if self.g1 is None:
            return self.base_s1
        return self.base_s1 + self.g1

    def _exact_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Float64 mean and M2 of every frame folded in."""
        if self.base is None:
            return block_moments.group_moments(self.gcount, self.g1, self.g2, self.dtype)
        count, mean, m2 = self.base
        mean, m2 = mean.copy(), m2.copy()
        if self.gcount:
            g_mean, g_m2 = block_moments.group_moments(self.gcount, self.g1, self.g2, self.dtype)
            block_moments.chan_merge(count, mean, m2, self.gcount, g_mean, g_m2)
        return mean, m2

    def _merge_exact(self, other: MomentAccumulator) -> None:
        """Combine the exact state of ``other`` into self (both non-empty)."""
        if other.base is not None:
            o_count, o_mean, o_m2 = other.base
            if self._need_m2:
                self._spill()
                self._merge_base(o_count, o_mean, o_m2, other.base_s1)
            else:
                self.base_s1 = other.base_s1.copy() if self.base_s1 is None else self.base_s1 + other.base_s1
        if other.gcount == 0:
            return
        limit = block_moments.exact_group_limit(self.dtype) if self._need_m2 else None
        if limit is not None and self.gcount + other.gcount > limit:
            self._spill()
            mean, m2 = block_moments.group_moments(other.gcount, other.g1, other.g2, self.dtype)
            self._merge_base(other.gcount, mean, m2, other.g1)
            return
        if self.g1 is None:
            self.g1 = other.g1.copy()
            self.g2 = None if other.g2 is None else other.g2.copy()
        else:
            self.g1 += other.g1
            if self.g2 is not None:
                self.g2 += other.g2
        self.gcount += other.gcount

    def merge(self, other: MomentAccumulator) -> MomentAccumulator:
        """Combine ``other`` (frames disjoint from ours) into self; returns self."""
        if not isinstance(other, MomentAccumulator):
            raise TypeError(f"can only merge a MomentAccumulator, got {type(other).__name__}")
        if (other.value_shape, other.dtype, other.stats) != (self.value_shape, self.dtype, self.stats):
            raise ValueError("cannot merge accumulators of different value_shape, dtype or stats")
        if other.count == 0:
            return self
        if self._merge_partials(other):
            return self
        self._settle()
        other._settle()
        if self.count == 0:
            for name in ("mean", "m2", "sum64", "total", "low", "high", "g1", "g2", "base_s1"):
                value = getattr(other, name)
                setattr(self, name, None if value is None else value.copy())
            self.base = None if other.base is None else (
                other.base[0], other.base[1].copy(), other.base[2].copy())
            self.gcount = other.gcount
            self.count = other.count
            return self
        if self._exact:
            self._merge_exact(other)
        if self.total is not None:
            self.total += other.total
        if self.sum64 is not None:
            self.sum64 += other.sum64
        if self.mean is not None:
            block_moments.chan_merge(self.count, self.mean, self.m2, other.count, other.mean, other.m2)
        if self.low is not None:
            np.minimum(self.low, other.low, out=self.low)
        if self.high is not None:
            np.maximum(self.high, other.high, out=self.high)
        self.count += other.count
        return self

    def _only_partials(self) -> bool:
        """Whether every frame folded in is still in the compiled path's
        partial state (nothing settled into int64 sums or spilled)."""
        return (self._exact and self.count > 0 and self.pframes == self.count and self.g1 is None
                and self.base is None)

    def _merge_partials(self, other: MomentAccumulator) -> bool:
        """Merge by adding the partial states when both hold only partials of
        the same kind and their frames fit one partial (the usual case: one
        accumulator per thread): no int64 sums formed. False if not done."""
        if not (self._only_partials() and other._only_partials()):
            return False
        if (self.packed is None) != (other.packed is None) or (self.p1 is None) != (other.p1 is None):
            return False
        limit = self._partial_frame_limit()
        if self._need_m2:
            limit = min(limit, block_moments.exact_group_limit(self.dtype))
        if self.pframes + other.pframes > limit:
            return False
        if self.packed is not None:
            block_moments.simd_module().merge_states(*self.packed, *other.packed)
        if self.p1 is not None:
            self.p1 += other.p1
        if self.g2 is not None:
            self.g2 += other.g2
        if self.low is not None:
            np.minimum(self.low, other.low, out=self.low)
        if self.high is not None:
            np.maximum(self.high, other.high, out=self.high)
        self.pframes += other.pframes
        self.gcount += other.gcount
        self.count += other.count
        return True

    def _finalize_partials(self, stat: str, out_dtype) -> np.ndarray | None:
        """``stat`` straight from the partial state when that is all there is
        (see :meth:`_only_partials`), else None: the int64 sums it would
        settle into are never formed. Same bits as from the settled sums."""
        if not self._only_partials() or stat not in ("mean", "var", "std", "sum"):
            return None
        if stat in ("var", "std") and self.packed is not None:
            simd = block_moments.simd_module()
            result = np.empty(int(np.prod(self.value_shape, dtype=np.int64)), dtype=np.float64)
            simd.variance_into(*self.packed, simd.shift(self.dtype), self.count, result, stat == "std")
        elif self.p1 is None:
            return None
        elif stat == "sum":
            result = self.p1.astype(out_dtype)
        elif stat == "mean":
            result = self.p1 / self.count
        else:
            result = np.empty(self.p1.size, dtype=np.float64)
            block_moments.jit_module().exact_variance(self.count, self.p1, self.g2, result, stat == "std")
        return np.asarray(result, dtype=out_dtype).reshape(self.value_shape)

    # -- results ---------------------------------------------------------------
    def finalize(self, stat: str) -> np.ndarray:
        """The statistic over the frames folded in so far.

        Parameters
        ----------
        stat : str
            One of the ``stats`` given at construction.

        Returns
        -------
        ndarray of ``value_shape`` with numpy's dtype for that statistic.

        Raises
        ------
        ValueError
            If ``stat`` was not requested or no frame has been added.
        """
        if stat not in self.stats:
            raise ValueError(f"stat must be one of {self.stats}, got {stat!r}")
        if self.count == 0:
            raise ValueError(f"cannot compute {stat} of zero frames (empty accumulator)")
        out_dtype = block_moments.numpy_result_dtype(self.dtype, stat)
        result = self._finalize_partials(stat, out_dtype)
        if result is not None:
            return result
        self._settle()
        if self._exact and stat in ("mean", "var", "std", "sum"):
            large = self.g1 is not None and self.g1.size >= block_moments.JIT_MIN_VALUES // 4
            jit = block_moments.jit_module() if large else None
            if stat == "sum":
                result = self._exact_sums().astype(out_dtype)  # a new array
            elif stat == "mean":
                result = self._exact_sums() / self.count
            elif (self.base is None and jit is not None
                  and self.gcount <= block_moments.narrow_group_limit(self.dtype)):
                result = np.empty(self.g1.size, dtype=np.float64)
                jit.exact_variance(self.gcount, self.g1, self.g2, result, stat == "std")
            else:
                result = self._exact_moments()[1] / self.count
                np.maximum(result, 0.0, out=result)
                if stat == "std":
                    np.sqrt(result, out=result)
            # every result above is a new array: no defensive copy
            return np.asarray(result, dtype=out_dtype).reshape(self.value_shape)
        if stat == "mean":
            mean = self.mean if self.sum64 is None else self.sum64 / self.count
            result = mean
        elif stat in ("var", "std"):
            result = self.m2 / self.count
            np.maximum(result, 0.0, out=result)
            if stat == "std":
                np.sqrt(result, out=result)
        elif stat == "sum":
            result = self.total
        elif stat == "min":
            result = self.low
        else:
            result = self.high
        return np.asarray(result, dtype=out_dtype).reshape(self.value_shape).copy()

    def __repr__(self) -> str:
        return (f"MomentAccumulator(value_shape={self.value_shape}, dtype={self.dtype}, "
                f"stats={self.stats}, count={self.count})")


class ReduceAccumulator:
    """``functools.reduce(func, frames)`` as a mergeable accumulator.

    Parameters
    ----------
    func : callable
        ``func(a, b) -> frame``, associative. A numpy ufunc reduces a block
        with ``func.reduce(block, axis=0)`` (so ``np.add`` on int16 frames
        gives int64, as Thunder's local mode); other callables fold the frames
        of a block one by one.
    value_shape : tuple of int, optional
        If given, :meth:`finalize` checks the result has this shape.

    Notes
    -----
    Partials are merged as ``func(earlier, later)``; the engines merge in
    frame order, so the result equals the sequential fold for associative
    ``func``.
    """

    def __init__(self, func, value_shape=None):
        if not callable(func):
            raise TypeError(f"func must be callable, got {func!r}")
        self.func = func
        self.value_shape = None if value_shape is None else tuple(value_shape)
        self.value = None
        self.count = 0

    def empty(self) -> ReduceAccumulator:
        """A fresh accumulator with the same func."""
        return ReduceAccumulator(self.func, self.value_shape)

    def _combine(self, value) -> None:
        self.value = value if self.value is None else self.func(self.value, value)

    def add(self, block, start=0) -> ReduceAccumulator:
        """Fold a block of frames in; returns self."""
        block = np.asarray(block)
        if block.shape[0] == 0:
            return self
        if isinstance(self.func, np.ufunc):
            reduced = self.func.reduce(block, axis=0)
        else:
            reduced = functools.reduce(self.func, block)
        self._combine(reduced)
        self.count += block.shape[0]
        return self

    def merge(self, other: ReduceAccumulator) -> ReduceAccumulator:
        """Combine the later partial ``other`` into self; returns self."""
        if other.count:
            self._combine(other.value)
            self.count += other.count
        return self

    def finalize(self) -> np.ndarray:
        """The reduced frame.

        Raises
        ------
        ValueError
            If nothing was added, or the result does not have ``value_shape``.
        """
        if self.count == 0:
            raise ValueError("cannot reduce zero frames (empty accumulator)")
        result = np.asarray(self.value)
        if self.value_shape is not None and result.shape != self.value_shape:
            raise ValueError(
                f"reduce did not yield an array with valid dimensions: got {result.shape}, "
                f"expected {self.value_shape}"
            )
        return result
