"""Sums and sums of squares of 16-bit integer frames with AVX2 ``vpmaddwd``.

The compiled loop of :mod:`._jit` widens every 16-bit value to int64 before
squaring it: its vector units do four pixels per instruction and the loop
is slower than the memory feeding it. Here the squares stay 16-bit x 16-bit
-> 32-bit products: the values of two frames are interleaved (one
``vpunpck`` per 16 values) and ``vpmaddwd`` gives, per pixel, ``a*a + b*b``
of the two frames as one int32 lane (and, against a vector of ones,
``a + b``), eight pixels per instruction.

``vpmaddwd`` multiplies *signed* 16-bit values, so unsigned frames are
shifted first: ``y = x - 32768`` (an xor of the top bit). Then
``y0*y0 + y1*y1 <= 2**31`` fits a uint32 lane, and the squares are added
into a 64-bit sum kept as two uint32 halves (the carry out of the low half,
an unsigned compare, goes into the high half). ``S1 = sum(y) + n*c`` and
``S2 = sum(y**2) + 2*c*sum(y) + n*c*c`` (``c`` = 32768 for uint16, 0 for
int16) give the exact int64 sums of the frames: integer arithmetic
throughout, the same bits as every other path.

The running state of :func:`square_moments` is three arrays of lanes, one
per pixel in the order ``vpunpck`` leaves them in (per 16 pixels: 0-3,
8-11, 4-7, 12-15), plus 16 lanes for the last 16 pixels when the frame
width is not a multiple of 16 (:func:`state_size`); :func:`unpack_into`
adds it to int64 sums in pixel order. At most :data:`MAX_FRAMES` frames may
go into one state (``sum(y)`` must fit int32).

:func:`plain_sums` adds 8/16-bit frames (the mean and sum alone) into int32
sums, 32 values a vector, widened with one ``vpmovzx``/``vpmovsx``.

Both loops prefetch (``llvm.prefetch``) what a later pass reads: each pass
reads a few far-apart rows (frames), and the hardware prefetchers, which
stop at every 4 KiB page, leave a pass waiting for memory at each page.
Asking 1 KiB ahead in each row (and, for short rows, for the next pass's
rows) brings the plain sums to the speed of a plain read of the frames.

Only x86-64 processors with AVX2 run this (:func:`available`); everything
else uses :mod:`._jit`'s loop, with the same results.
"""

from __future__ import annotations

import functools
import platform

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: frames one state may hold: ``|sum(y)| <= 32768 * frames`` stays below 2**31
MAX_FRAMES = 32768
#: pixels per tile: the tile's state (12 bytes a pixel for the squares, 4
#: for the plain sums) stays in the L2 cache while the frames stream through it
TILE = 65536
#: rows up to this long (bytes) are "short": a pass's rows are one
#: contiguous run, and each pass prefetches the next pass's rows
SHORT_ROW_BYTES = 8192
#: rows per pass of :func:`square_moments`, (short, long), for the AVX2
#: loop and for the fused loop (measured best on each: the lighter fused loop
#: gains more from fewer streams than from fewer loads and stores of the state)
PLAIN_ROWS = (16, 8)
FUSED_ROWS = (2, 4)
#: how far ahead (bytes) in each of a pass's long rows the loops ask for the
#: data (software prefetch): the hardware prefetchers, following 4-8 streams
#: of far-apart rows, start too late at each 4 KiB page. Short rows (one
#: contiguous run per pass) fetch the next pass's rows instead.
PREFETCH_AHEAD = 1024

_I16, _I32, _I64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)
_V16 = ir.VectorType(_I16, 16)
_V8 = ir.VectorType(_I32, 8)
# vpunpcklwd / vpunpckhwd of two 16-value vectors (each 128-bit lane apart)
_LOW = [0, 16, 1, 17, 2, 18, 3, 19, 8, 24, 9, 25, 10, 26, 11, 27]
_HIGH = [4, 20, 5, 21, 6, 22, 7, 23, 12, 28, 13, 29, 14, 30, 15, 31]


def available() -> bool:
    """Whether numba compiles for this machine's own x86-64 processor and it
    has AVX2 (``vpmaddwd`` on 256-bit vectors)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if numba.config.CPU_NAME not in (None, "host") or numba.config.CPU_FEATURES:
        return False  # compiling for another processor: AVX2 not known
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("avx2", False))
    except Exception:  # pragma: no cover - llvmlite without host features
        return False


def fused_available() -> bool:
    """Whether this processor also has AVX-512 VL and VNNI: ``vpdpwssd``
    (``vpmaddwd`` and the add in one instruction) and compares into mask
    registers, which :func:`square_moments` then uses (``fused=True``)."""
    if not available():
        return False
    try:
        from llvmlite import binding

        features = binding.get_host_cpu_features()
        binding.initialize_native_asmparser()  # the fused loop is inline assembly
    except Exception:  # pragma: no cover - llvmlite without host features
        return False
    return all(features.get(name, False) for name in ("avx512f", "avx512vl", "avx512vnni"))


#: :func:`fused_available` here: what callers pass as ``fused``. The fused
#: intrinsics emit the AVX-512 code only when it is True (else the plain
#: code), so the module compiles on processors without AVX-512.
FUSED = fused_available()


def offset(dtype) -> int:
    """The int16 xor-ed into each value: -32768 (bits 0x8000) for uint16, 0 for int16."""
    return -32768 if np.dtype(dtype) == np.uint16 else 0


def shift(dtype) -> int:
    """``x - y`` for that offset: 32768 for uint16, 0 for int16."""
    return 32768 if np.dtype(dtype) == np.uint16 else 0


@functools.lru_cache(maxsize=2)
def neutral_row(offset: int) -> np.ndarray:
    """:data:`TILE` values whose bits are ``offset``'s (``y = 0``)."""
    return np.full(TILE, offset & 0xFFFF, dtype=np.uint16)


def _prefetch(builder, address):
    """IR asking for the cache line at the integer ``address`` (a read, kept
    in every cache level; a hint, never a fault)."""
    pointer = ir.IntType(8).as_pointer()
    name = "llvm.prefetch.p0i8"
    function = builder.module.globals.get(name) or ir.Function(
        builder.module, ir.FunctionType(ir.VoidType(), [pointer, _I32, _I32, _I32]), name=name)
    builder.call(function, [builder.inttoptr(address, pointer), ir.Constant(_I32, 0), ir.Constant(_I32, 3),
                            ir.Constant(_I32, 1)])


def _prefetch_rows(builder, address, stride, count, short):
    """IR prefetching, for the ``count`` rows ``address + i * stride``, the
    data a later pass reads: :data:`PREFETCH_AHEAD` bytes further in each
    row, or for ``short`` rows the same place in the next pass's rows."""
    if short:
        address = builder.add(address, builder.mul(stride, ir.Constant(_I64, count)))
    else:
        address = builder.add(address, ir.Constant(_I64, PREFETCH_AHEAD))
    for _ in range(count):
        _prefetch(builder, address)
        address = builder.add(address, stride)


def _vector_at(builder, address, offset, vector_type):
    """Pointer to a vector at the integer ``address + offset`` (bytes)."""
    if offset:
        address = builder.add(address, ir.Constant(_I64, offset))
    return builder.inttoptr(address, vector_type.as_pointer())


def _fold(context, builder, rows, sums, low, high, fused):
    """IR folding the 16-value vectors ``rows`` (an even number of frames,
    already shifted) into the state at addresses ``sums``/``low``/``high``:
    per half of the pixels, one ``vpunpck`` and two ``vpmaddwd`` per pair of
    frames, then one load and store of each state vector. With ``fused``
    (:func:`fused_available`), each ``vpmaddwd`` and its add are one
    ``vpdpwssd``, and a carry is one compare into a mask register and one
    masked subtract; LLVM would split the ``vpdpwssd`` and widen the mask
    into a vector again, so these are inline assembly."""
    module = builder.module
    name = "llvm.x86.avx2.pmadd.wd"
    pmadd = module.globals.get(name) or ir.Function(module, ir.FunctionType(_V8, [_V16, _V16]), name=name)
    dot = ir.FunctionType(_V8, [_V8, _V16, _V16])
    carry = ir.FunctionType(_V8, [_V8, _V8, _V8, _V8])
    minus_one = ir.Constant(_V8, [-1] * 8)
    lanes = ir.VectorType(_I32, 16)
    ones = ir.Constant(_V16, [1] * 16)
    for half, order in ((0, _LOW), (1, _HIGH)):
        mask = ir.Constant(lanes, order)
        at_sums = _vector_at(builder, sums, 32 * half, _V8)
        at_low = _vector_at(builder, low, 32 * half, _V8)
        at_high = _vector_at(builder, high, 32 * half, _V8)
        total = builder.load(at_sums, align=4)
        lo, hi = builder.load(at_low, align=4), builder.load(at_high, align=4)
        for r in range(0, len(rows), 2):
            pair = builder.shuffle_vector(rows[r], rows[r + 1], mask)
            if fused and FUSED:  # total += y0 + y1; lo += y0*y0 + y1*y1; hi += (lo < old lo)
                total = builder.asm(dot, "vpdpwssd $3, $2, $0", "=v,0,v,v", [total, pair, ones], False)
                new = builder.asm(dot, "vpdpwssd $3, $2, $0", "=v,0,v,v", [lo, pair, pair], False)
                hi = builder.asm(carry, "vpcmpud $$1, $2, $1, %k1\n\tvpsubd $3, $0, $0{%k1}",
                                 "=v,v,v,v,0,~{k1}", [new, lo, minus_one, hi], False)
                lo = new
            else:  # the same with AVX2 alone (sext(true) = -1)
                total = builder.add(total, builder.call(pmadd, [pair, ones]))
                q = builder.call(pmadd, [pair, pair])
                lo = builder.add(lo, q)
                hi = builder.sub(hi, builder.sext(builder.icmp_unsigned("<", lo, q), _V8))
        builder.store(total, at_sums, align=4)
        builder.store(lo, at_low, align=4)
        builder.store(hi, at_high, align=4)
    return context.get_dummy_value()


def _load_shifted(builder, address, offset):
    """The 16 values at ``address``, xor-ed with the int16 ``offset``."""
    lanes = ir.VectorType(_I32, 16)
    shift = builder.insert_element(ir.Constant(_V16, None), offset, ir.Constant(_I32, 0))
    shift = builder.shuffle_vector(shift, ir.Constant(_V16, None), ir.Constant(lanes, [0] * 16))
    return builder.xor(builder.load(_vector_at(builder, address, 0, _V16), align=2), shift)


def _four_rows(fused):
    """An intrinsic ``(r0, r1, r2, r3, sums, low, high, offset)`` folding 16
    pixels of four rows (addresses of int16/uint16 values) into the state at
    ``sums`` (int32), ``low`` and ``high`` (uint32): 16 lanes each, in unpack
    order. ``offset`` is xor-ed into every value first."""

    @intrinsic
    def fold_four(typingctx, r0, r1, r2, r3, sums, low, high, offset):
        sig = types.void(types.intp, types.intp, types.intp, types.intp,
                         types.intp, types.intp, types.intp, types.int16)

        def codegen(context, builder, signature, args):
            rows = [_load_shifted(builder, a, args[7]) for a in args[:4]]
            return _fold(context, builder, rows, *args[4:7], fused)

        return sig, codegen

    return fold_four


_four_plain, _four_fused = _four_rows(False), _four_rows(True)


@numba.njit(cache=True, nogil=True, inline="always")
def _four_pass(fused, r0, r1, r2, r3, sums, low, high, shift):  # pragma: no cover - compiled
    """16 pixels of the four rows ``r0``-``r3`` (:func:`_four_rows`)."""
    if fused:
        _four_fused(r0, r1, r2, r3, sums, low, high, shift)
    else:
        _four_plain(r0, r1, r2, r3, sums, low, high, shift)


def _strided_rows(count, short, prefetch, fused):
    """An intrinsic like :func:`_four_rows` for the ``count`` rows
    ``r0 + i * stride`` (bytes): ``(r0, stride, sums, low, high, offset)``;
    with ``prefetch`` it asks for what a later pass reads (:func:`_prefetch_rows`)."""

    @intrinsic
    def fold_rows(typingctx, r0, stride, sums, low, high, offset):
        sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp, types.int16)

        def codegen(context, builder, signature, args):
            if prefetch:
                _prefetch_rows(builder, args[0], args[1], count, short)
            rows = []
            address = args[0]
            for _ in range(count):
                rows.append(_load_shifted(builder, address, args[5]))
                address = builder.add(address, args[1])
            return _fold(context, builder, rows, *args[2:5], fused)

        return sig, codegen

    return fold_rows


# the passes of the plain and the fused loop: short/long rows, prefetching or not
_short, _short_fetched = (_strided_rows(PLAIN_ROWS[0], True, fetch, False) for fetch in (True, False))
_long, _long_fetched = (_strided_rows(PLAIN_ROWS[1], False, fetch, False) for fetch in (True, False))
_short_f, _short_fetched_f = (_strided_rows(FUSED_ROWS[0], True, fetch, True) for fetch in (True, False))
_long_f, _long_fetched_f = (_strided_rows(FUSED_ROWS[1], False, fetch, True) for fetch in (True, False))


@numba.njit(cache=True, nogil=True, inline="always")
def _plain_pass(short, fetch, r0, stride, sums, low, high, shift):  # pragma: no cover - compiled
    if short:
        if fetch:
            _short(r0, stride, sums, low, high, shift)
        else:
            _short_fetched(r0, stride, sums, low, high, shift)
    elif fetch:
        _long(r0, stride, sums, low, high, shift)
    else:
        _long_fetched(r0, stride, sums, low, high, shift)


@numba.njit(cache=True, nogil=True, inline="always")
def _fused_pass(short, fetch, r0, stride, sums, low, high, shift):  # pragma: no cover - compiled
    if short:
        if fetch:
            _short_f(r0, stride, sums, low, high, shift)
        else:
            _short_fetched_f(r0, stride, sums, low, high, shift)
    elif fetch:
        _long_f(r0, stride, sums, low, high, shift)
    else:
        _long_fetched_f(r0, stride, sums, low, high, shift)


@numba.njit(cache=True, nogil=True, inline="always")
def _strided_pass(fused, short, fetch, r0, stride, sums, low, high, shift):  # pragma: no cover - compiled
    """16 pixels of the :data:`PLAIN_ROWS` or :data:`FUSED_ROWS` (short or long) rows ``r0 + i * stride``,
    prefetching what a later pass reads if ``fetch`` (once per 64-byte line:
    every other group of 16 values); the fused loop if ``fused``."""
    if fused:
        _fused_pass(short, fetch, r0, stride, sums, low, high, shift)
    else:
        _plain_pass(short, fetch, r0, stride, sums, low, high, shift)


def state_size(pixels: int) -> int:
    """Lanes of the state for frames of ``pixels`` (at least 16) pixels: one
    per pixel of the leading multiple of 16, plus 16 for the last 16 pixels
    when a partial group is left."""
    p16 = pixels // 16 * 16
    return p16 + (16 if p16 < pixels else 0)


@numba.njit(cache=True, nogil=True)
def square_moments(flat, offset, neutral, sums, low, high, fused):  # pragma: no cover - compiled
    """Fold the frames ``flat`` (k, p) of 16-bit integers (``p >= 16``, rows
    of contiguous values) into the state ``sums``/``low``/``high``
    (:func:`state_size` lanes each, unpack order).

    Pixels are taken 16 at a time, tile by tile; when ``p`` is not a multiple
    of 16 the last 16 pixels (overlapping the last whole group) go into the
    state's last 16 lanes. ``offset`` is -32768 for uint16 (``y = x ^
    0x8000``), 0 for int16; ``neutral`` is a row of at least :data:`TILE`
    values whose bits are ``offset``'s (``y = 0``: 32768 as uint16, or 0),
    standing in for the missing rows of the last group of four. ``fused``
    (only where :func:`fused_available`) takes the AVX-512 VNNI loop; both
    loops give the same bits.
    """
    k, p = flat.shape
    p16 = p // 16 * 16
    shift = np.int16(offset)
    base = flat.ctypes.data
    row = flat.strides[0]
    blank = neutral.ctypes.data
    at_sums = sums.ctypes.data
    at_low = low.ctypes.data
    at_high = high.ctypes.data
    # PLAIN_ROWS / FUSED_ROWS rows a pass: one load and store of the state
    # per pass against more streams of far-apart rows (long rows); short
    # rows (records of a Series, small frames) are one contiguous run a pass
    short = row <= SHORT_ROW_BYTES
    rows = FUSED_ROWS if fused else PLAIN_ROWS
    step = rows[0] if short else rows[1]
    many = k - k % step
    for j0 in range(0, p16, TILE):
        w = min(TILE, p16 - j0)
        tail = j0 + w == p16 and p16 < p  # the last tile also takes the last 16 pixels
        for i in range(0, many, step):
            r0 = base + i * row
            for g in range(j0, j0 + w, 16):
                _strided_pass(fused, short, (g - j0) % 32 == 0, r0 + 2 * g, row, at_sums + 4 * g,
                              at_low + 4 * g, at_high + 4 * g, shift)
            if tail:
                _strided_pass(fused, short, True, r0 + 2 * (p - 16), row, at_sums + 4 * p16, at_low + 4 * p16,
                              at_high + 4 * p16, shift)
        for i in range(many, k, 4):
            r0 = base + i * row
            r1 = r0 + row if i + 1 < k else blank - 2 * j0
            r2 = r0 + 2 * row if i + 2 < k else blank - 2 * j0
            r3 = r0 + 3 * row if i + 3 < k else blank - 2 * j0
            for g in range(j0, j0 + w, 16):
                _four_pass(fused, r0 + 2 * g, r1 + 2 * g, r2 + 2 * g, r3 + 2 * g,
                           at_sums + 4 * g, at_low + 4 * g, at_high + 4 * g, shift)
            if tail:
                g = p - 16
                blank_at = blank - 2 * g  # reads blank[0:16]
                _four_pass(fused, r0 + 2 * g, (r1 if i + 1 < k else blank_at) + 2 * g,
                           (r2 if i + 2 < k else blank_at) + 2 * g, (r3 if i + 3 < k else blank_at) + 2 * g,
                           at_sums + 4 * p16, at_low + 4 * p16, at_high + 4 * p16, shift)


#: values of one vector of the plain sums (:func:`plain_sums`)
SUM_GROUP = 32


def _summing_rows(count, prefetch, masked):
    """An intrinsic ``(values, r0, stride, sums, mask)`` adding, for the
    ``count`` rows ``r0 + i * stride`` (bytes), :data:`SUM_GROUP` values of
    each (the element type of the array ``values``: 8 or 16 bits, sign- or
    zero-extended) into the int32 lanes at ``sums``; with ``masked``, the
    total is and-ed with the 32 int32 lanes at ``mask`` first. ``prefetch``:
    None, or whether the rows are short (:func:`_prefetch_rows`)."""

    @intrinsic
    def sum_rows(typingctx, values, r0, stride, sums, mask):
        element = values.dtype
        sig = types.void(values, types.intp, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            wide = ir.VectorType(_I32, SUM_GROUP)
            narrow = ir.VectorType(ir.IntType(element.bitwidth), SUM_GROUP)
            extend = builder.sext if element.signed else builder.zext
            address, stride = args[1], args[2]
            if prefetch is not None:
                _prefetch_rows(builder, address, stride, count, prefetch)
            total = None
            for _ in range(count):
                row = extend(builder.load(_vector_at(builder, address, 0, narrow), align=1), wide)
                total = row if total is None else builder.add(total, row)
                address = builder.add(address, stride)
            if masked:
                total = builder.and_(total, builder.load(_vector_at(builder, args[4], 0, wide), align=4))
            at = _vector_at(builder, args[3], 0, wide)
            builder.store(builder.add(builder.load(at, align=4), total), at, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return sum_rows


_sum_four_long = _summing_rows(4, False, False)
_sum_four_long_tail = _summing_rows(4, None, True)
_sum_sixteen_short = _summing_rows(16, True, False)
_sum_sixteen_short_tail = _summing_rows(16, None, True)
_sum_one = _summing_rows(1, None, False)
_sum_one_tail = _summing_rows(1, None, True)


@functools.lru_cache(maxsize=16)
def tail_mask(pixels: int) -> np.ndarray:
    """The int32 mask of :func:`plain_sums` for frames of ``pixels`` values:
    of the last :data:`SUM_GROUP` pixels, all bits set for those past the
    last whole group, 0 for the others (already summed)."""
    rest = pixels % SUM_GROUP
    return np.where(np.arange(SUM_GROUP) >= SUM_GROUP - rest, -1, 0).astype(np.int32)


@numba.njit(cache=True, nogil=True, inline="always")
def _sum_pass(flat, short, r0, stride, at, mask, tail):  # pragma: no cover - compiled
    """One vector of the 16 (``short``) or 4 rows ``r0 + i * stride``; the
    masked overlapping last group if ``tail``."""
    if short:
        if tail:
            _sum_sixteen_short_tail(flat, r0, stride, at, mask)
        else:
            _sum_sixteen_short(flat, r0, stride, at, mask)
    elif tail:
        _sum_four_long_tail(flat, r0, stride, at, mask)
    else:
        _sum_four_long(flat, r0, stride, at, mask)


@numba.njit(cache=True, nogil=True)
def plain_sums(flat, sums, mask):  # pragma: no cover - compiled
    """``sums += flat.sum(0)`` in int32 for 8/16-bit integer frames ``flat``
    (k, p), ``p >= 32``, rows of contiguous values; ``mask`` is
    :func:`tail_mask` of ``p``. The caller bounds the frames so the int32
    sums cannot overflow; integer adds in any order give the same bits.

    Per tile of :data:`TILE` pixels, passes of 4 frames (16 for short rows,
    :data:`SHORT_ROW_BYTES`), :data:`SUM_GROUP` pixels at a time, each
    pass prefetching what a later one reads. When ``p`` is not a multiple
    of 32 the last group overlaps the one before it, its already-summed
    pixels masked to 0; the rows left over after the passes go one at a time.
    """
    k, p = flat.shape
    p32 = p // SUM_GROUP * SUM_GROUP
    base = flat.ctypes.data
    row = flat.strides[0]
    size = flat.itemsize
    at = sums.ctypes.data
    at_mask = mask.ctypes.data
    short = row <= SHORT_ROW_BYTES
    step = 16 if short else 4
    many = k - k % step
    last = p - SUM_GROUP
    for j0 in range(0, p32, TILE):
        w = min(TILE, p32 - j0)
        tail = j0 + w == p32 and p32 < p
        for i in range(0, many, step):
            r0 = base + i * row
            for g in range(j0, j0 + w, SUM_GROUP):
                _sum_pass(flat, short, r0 + size * g, row, at + 4 * g, at_mask, False)
            if tail:
                _sum_pass(flat, short, r0 + size * last, row, at + 4 * last, at_mask, True)
    for i in range(many, k):
        r0 = base + i * row
        for g in range(0, p32, SUM_GROUP):
            _sum_one(flat, r0 + size * g, row, at + 4 * g, at_mask)
        if p32 < p:
            _sum_one_tail(flat, r0 + size * last, row, at + 4 * last, at_mask)


@numba.njit(cache=True, nogil=True, inline="always")
def _pixel_of(lane, p, p16):  # pragma: no cover - compiled
    """The pixel a state lane holds (-1: a tail lane whose pixel a whole
    group holds): per 16 lanes, pixels 0-3, 8-11, 4-7, 12-15."""
    t = lane % 16
    within = (t % 8) // 4 * 8 + t // 8 * 4 + t % 4
    if lane < p16:
        return lane - t + within
    pixel = p - 16 + within
    return pixel if pixel >= p16 else -1


@numba.njit(cache=True, nogil=True, inline="always")
def _lane_sums(sums, low, high, lane, shift, nframes):  # pragma: no cover - compiled
    """Exact int64 ``(S1, S2)`` of a lane's pixel."""
    y1 = np.int64(sums[lane])
    y2 = (np.int64(high[lane]) << 32) + np.int64(low[lane])
    return y1 + shift * nframes, y2 + 2 * shift * y1 + shift * shift * nframes


@numba.njit(cache=True, nogil=True)
def unpack_into(sums, low, high, shift, nframes, s1, s2):  # pragma: no cover - compiled
    """``s1 += S1`` and ``s2 += S2`` (int64, pixel order, ``p`` pixels) of
    the state (:func:`state_size` lanes, unpack order) of ``nframes`` frames
    shifted by ``shift`` (32768 for uint16, 0 for int16); then clears the
    state."""
    p = s1.size
    p16 = p // 16 * 16
    for lane in range(sums.size):
        pixel = _pixel_of(lane, p, p16)
        if pixel >= 0:
            a, b = _lane_sums(sums, low, high, lane, shift, nframes)
            s1[pixel] += a
            s2[pixel] += b
    sums[:] = 0
    low[:] = 0
    high[:] = 0


@numba.njit(cache=True, nogil=True, inline="always")
def _lane_variance(sums, low, high, lane, shift, nframes):  # pragma: no cover - compiled
    """A lane's variance ``((n*S2 - S1**2) / n) / n``, clipped at 0."""
    a, b = _lane_sums(sums, low, high, lane, shift, nframes)
    return max(np.float64(b * nframes - a * a) / nframes / nframes, 0.0)


@numba.njit(cache=True, nogil=True)
def variance_into(sums, low, high, shift, nframes, out, root):  # pragma: no cover - compiled
    """``out`` (float64, pixel order) = the variance of each pixel over the
    ``nframes`` frames of the state (its square root if ``root``), formed as
    :func:`._jit.exact_variance` does: ``((n*S2 - S1**2) / n) / n`` from the
    exact int64 sums, clipped at 0. The state is left as it is.

    The whole groups are formed in lane order (one vectorised pass), then
    put in pixel order by swapping their middle quarters in place."""
    p = out.size
    p16 = p // 16 * 16
    for lane in range(p16):
        out[lane] = _lane_variance(sums, low, high, lane, shift, nframes)
    for group in range(0, p16, 16):
        for t in range(group + 4, group + 8):
            out[t], out[t + 4] = out[t + 4], out[t]
    for lane in range(p16, sums.size):
        pixel = _pixel_of(lane, p, p16)
        if pixel >= 0:
            out[pixel] = _lane_variance(sums, low, high, lane, shift, nframes)
    if root:
        for pixel in range(p):
            out[pixel] = np.sqrt(out[pixel])


@numba.njit(cache=True, nogil=True)
def merge_states(sums, low, high, other_sums, other_low, other_high):  # pragma: no cover - compiled
    """Add the state ``other_*`` (frames disjoint from ours) into ours: int32
    sums, and the 64-bit sums of squares with the carry out of the low halves."""
    for lane in range(sums.size):
        sums[lane] = np.int32(sums[lane] + other_sums[lane])
        lo = np.uint32(low[lane] + other_low[lane])
        carry = np.uint32(1) if lo < other_low[lane] else np.uint32(0)
        low[lane] = lo
        high[lane] = np.uint32(high[lane] + other_high[lane] + carry)
