"""What the numbers mean: axis names, physical scale and units, channels.

An :class:`ImageMetadata` describes every axis of an ``Images`` stack,
axis 0 (the image or time axis) included: its name, the physical size of one
step along it (``scale``), the position of index 0 (``translate``) and the
unit of both, plus the names of the channels and whether the last axis holds
the colour samples of RGB(A) pictures. It is data, not decoration:

* loaders read it from the file (ImageJ and OME metadata, TIFF resolution
  tags, OME-Zarr ``multiscales``, ``conf.json``) or it takes the defaults
  below; the user changes it with ``Images.with_metadata``;
* every ``Images`` method carries it to its result with the rule the method
  implies (the functions below): a filter keeps it, a projection drops the
  projected axis, ``subsample`` multiplies the scale by the factor, slicing
  shifts the origin and multiplies the scale by the step, a statistic over the
  images keeps the image axes, ``map`` keeps it when the image shape is kept;
* writers store it back (ImageJ/OME TIFF tags, extra ``conf.json`` keys,
  OME-Zarr attributes) and the napari layer gets it as ``scale``,
  ``translate``, ``units``, ``axis_labels``, ``channel_axis`` and ``rgb``.

Axis names
----------
``'t'`` time, ``'z'``, ``'y'``, ``'x'`` space, ``'c'`` channels (and the
colour samples of RGB pictures). Any other name is allowed (``'p'`` for
positions, ``'i'`` for a plain index). Defaults when nothing is known: axis 0
is ``'t'``; images are ``('y', 'x')``, volumes ``('z', 'y', 'x')``, RGB(A)
pictures ``('y', 'x', 'c')`` with ``rgb=True``; any other image rank gets
``'dim_1'``, ``'dim_2'``, ... ; scale 1, translate 0, no unit.

Channel axes (named ``'c'``) are never mixed by per-pixel filters: a single
filter parameter applies to the spatial axes only
(:meth:`ImageMetadata.expand_per_axis`).

This module imports only the standard library and numpy, so it can be used by
every layer of the package.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, replace

__all__ = ["Axis", "ImageMetadata", "CHANNEL", "TIME", "SPATIAL"]

TIME = "t"
CHANNEL = "c"
SPATIAL = ("z", "y", "x")

#: version of the JSON form (``ImageMetadata.to_dict``)
SCHEMA = 1


@dataclass(frozen=True)
class Axis:
    """One axis of a stack.

    Attributes
    ----------
    name : str
        ``'t'``, ``'z'``, ``'y'``, ``'x'``, ``'c'`` or another label.
    scale : float
        Physical size of one step along the axis (e.g. micrometres per
        pixel, seconds per frame); positive and finite.
    translate : float
        Physical position of index 0.
    unit : str or None
        Unit of ``scale`` and ``translate`` (``'micrometer'``, ``'second'``),
        None when unknown.
    """

    name: str
    scale: float = 1.0
    translate: float = 0.0
    unit: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"axis name must be a non-empty string, got {self.name!r}")
        for attr in ("scale", "translate"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ValueError(f"axis {self.name!r}: {attr} must be a finite number, got {value!r}")
            object.__setattr__(self, attr, float(value))
        if self.scale <= 0:
            raise ValueError(f"axis {self.name!r}: scale must be positive, got {self.scale!r}")
        if self.unit is not None and not isinstance(self.unit, str):
            raise ValueError(f"axis {self.name!r}: unit must be a string or None, got {self.unit!r}")
        if self.unit == "":
            object.__setattr__(self, "unit", None)


def default_names(value_ndim: int, rgb: bool = False) -> tuple[str, ...]:
    """Default axis names of a stack whose images have ``value_ndim`` axes.

    Parameters
    ----------
    value_ndim : int
        Axes of one image.
    rgb : bool
        Whether the last image axis holds colour samples.

    Returns
    -------
    tuple of str
        ``value_ndim + 1`` names, ``'t'`` first.
    """
    if rgb:
        spatial = default_names(value_ndim - 1)[1:]
        return (TIME,) + spatial + (CHANNEL,)
    if value_ndim == 2:
        names = ("y", "x")
    elif value_ndim == 3:
        names = SPATIAL
    elif value_ndim == 1:
        names = ("x",)
    else:
        names = tuple(f"dim_{k + 1}" for k in range(value_ndim))
    return (TIME,) + names


@dataclass(frozen=True)
class ImageMetadata:
    """Axis names, scale, translate and units of a stack, plus its channels.

    Attributes
    ----------
    axes : tuple of Axis
        One per array axis of the stack, axis 0 (images/time) first.
    channel_names : tuple of str or None
        Names of the entries of the channel axis (``'c'``), if known.
    rgb : bool
        The last axis holds the red, green, blue (and alpha) samples of
        colour pictures, shown as colour by napari.
    """

    axes: tuple[Axis, ...]
    channel_names: tuple[str, ...] | None = None
    rgb: bool = False

    def __post_init__(self):
        axes = tuple(self.axes)
        if not axes or not all(isinstance(a, Axis) for a in axes):
            raise ValueError("axes must be a non-empty sequence of Axis")
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names must be unique, got {names}")
        object.__setattr__(self, "axes", axes)
        if self.channel_names is not None:
            object.__setattr__(self, "channel_names", tuple(str(c) for c in self.channel_names))
            if self.channel_axis is None:
                raise ValueError("channel_names given but no axis is named 'c'")
        if self.rgb and axes[-1].name != CHANNEL:
            raise ValueError("rgb=True needs the last axis to be the channel axis 'c'")

    # -- construction -----------------------------------------------------------
    @classmethod
    def default(cls, ndim: int, rgb: bool = False) -> ImageMetadata:
        """Metadata with the default names, unit scale and no units.

        Parameters
        ----------
        ndim : int
            Axes of the stack (axis 0 included).
        rgb : bool
            The last axis holds colour samples.

        Returns
        -------
        ImageMetadata
        """
        return cls(tuple(Axis(n) for n in default_names(ndim - 1, rgb)), rgb=rgb)

    @classmethod
    def from_names(cls, names, scale=None, translate=None, units=None,
                   channel_names=None, rgb=False) -> ImageMetadata:
        """Metadata from per-axis lists.

        Parameters
        ----------
        names : sequence of str
            One name per axis, axis 0 first.
        scale, translate : sequence of float, optional
            One value per axis (default 1 and 0).
        units : sequence of (str or None), optional
            One unit per axis.
        channel_names : sequence of str, optional
        rgb : bool

        Returns
        -------
        ImageMetadata

        Raises
        ------
        ValueError
            Lists of different lengths, or invalid values.
        """
        names = tuple(names)
        n = len(names)
        scale = (1.0,) * n if scale is None else tuple(scale)
        translate = (0.0,) * n if translate is None else tuple(translate)
        units = (None,) * n if units is None else tuple(units)
        if not len(scale) == len(translate) == len(units) == n:
            raise ValueError(f"names, scale, translate and units must have one entry per axis ({n})")
        axes = tuple(Axis(nm, s, t, u) for nm, s, t, u in zip(names, scale, translate, units))
        return cls(axes, channel_names=channel_names, rgb=rgb)

    # -- description ------------------------------------------------------------
    @property
    def ndim(self) -> int:
        """Number of axes, axis 0 included."""
        return len(self.axes)

    @property
    def names(self) -> tuple[str, ...]:
        """Axis names, axis 0 first."""
        return tuple(a.name for a in self.axes)

    @property
    def scale(self) -> tuple[float, ...]:
        """Scale per axis, axis 0 first."""
        return tuple(a.scale for a in self.axes)

    @property
    def translate(self) -> tuple[float, ...]:
        """Translate per axis, axis 0 first."""
        return tuple(a.translate for a in self.axes)

    @property
    def units(self) -> tuple[str | None, ...]:
        """Unit per axis (None when unknown), axis 0 first."""
        return tuple(a.unit for a in self.axes)

    @property
    def channel_axis(self) -> int | None:
        """Index (in the stack, axis 0 included) of the axis named ``'c'``."""
        return self.names.index(CHANNEL) if CHANNEL in self.names else None

    def spatial_image_axes(self) -> tuple[int, ...]:
        """Image axes (0 = first axis after the image axis) that are not
        channel axes: the axes per-pixel filters work along."""
        return tuple(k - 1 for k, a in enumerate(self.axes) if k > 0 and a.name != CHANNEL)

    def is_default(self) -> bool:
        """True when nothing is known beyond the default names."""
        return self == ImageMetadata.default(self.ndim, rgb=self.rgb)

    def check_shape(self, shape) -> ImageMetadata:
        """Check that these metadata describe an array of ``shape``.

        Parameters
        ----------
        shape : tuple of int

        Returns
        -------
        ImageMetadata
            ``self``.

        Raises
        ------
        ValueError
            Another number of axes, channel names not matching the channel
            axis, or ``rgb`` with a last axis of neither 3 nor 4 samples.
        """
        shape = tuple(shape)
        if len(shape) != self.ndim:
            raise ValueError(f"metadata describe {self.ndim} axes {self.names}, the data have "
                             f"{len(shape)} (shape {shape})")
        c = self.channel_axis
        if self.channel_names is not None and c is not None and len(self.channel_names) != shape[c]:
            raise ValueError(f"{len(self.channel_names)} channel names for a channel axis of "
                             f"{shape[c]} entries")
        if self.rgb and shape[-1] not in (3, 4):
            raise ValueError(f"rgb needs 3 or 4 samples on the last axis, got shape {shape}")
        return self

    # -- changes (each returns new metadata) ---------------------------------------
    def replace_axis(self, index: int, **changes) -> ImageMetadata:
        """These metadata with axis ``index`` (stack axis) changed.

        Parameters
        ----------
        index : int
        **changes
            ``name``, ``scale``, ``translate`` or ``unit``.

        Returns
        -------
        ImageMetadata
        """
        axes = list(self.axes)
        axes[index] = replace(axes[index], **changes)
        channel_names = self.channel_names
        if CHANNEL not in [a.name for a in axes]:
            channel_names = None
        return replace(self, axes=tuple(axes), channel_names=channel_names,
                       rgb=self.rgb and axes[-1].name == CHANNEL)

    def updated(self, names=None, scale=None, translate=None, units=None,
                channel_names=None, rgb=None) -> ImageMetadata:
        """These metadata with whole per-axis lists replaced (None keeps).

        Parameters
        ----------
        names, scale, translate, units : sequence, optional
            One entry per axis, axis 0 first; a dict maps axis names (or
            indices) to new values for some axes only.
        channel_names : sequence of str, optional
        rgb : bool, optional

        Returns
        -------
        ImageMetadata

        Raises
        ------
        ValueError
            A list of the wrong length or an unknown axis name.
        """
        columns = {"name": list(self.names), "scale": list(self.scale),
                   "translate": list(self.translate), "unit": list(self.units)}
        for key, given in (("name", names), ("scale", scale), ("translate", translate),
                           ("unit", units)):
            if given is None:
                continue
            if isinstance(given, dict):
                for axis, value in given.items():
                    k = self._axis_index(axis)
                    columns[key][k] = value
            else:
                given = list(given)
                if len(given) != self.ndim:
                    plural = "s" if key != "scale" else ""
                    raise ValueError(f"{key}{plural} must have one entry per axis ({self.ndim}: "
                                     f"{self.names}), got {len(given)}")
                columns[key] = given
        axes = tuple(Axis(n, s, t, u) for n, s, t, u in zip(columns["name"], columns["scale"],
                                                           columns["translate"], columns["unit"]))
        if channel_names is None and CHANNEL in columns["name"]:
            channel_names = self.channel_names
        return ImageMetadata(axes, channel_names=channel_names,
                             rgb=self.rgb if rgb is None else bool(rgb))

    def transposed(self, order) -> ImageMetadata:
        """These metadata with the stack axes in ``order``.

        Parameters
        ----------
        order : sequence of int
            A permutation of ``range(ndim)``: new axis ``k`` is old axis ``order[k]``.

        Returns
        -------
        ImageMetadata

        Raises
        ------
        ValueError
            ``order`` is not a permutation of the axes.
        """
        order = tuple(int(k) for k in order)
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"order must be a permutation of range({self.ndim}), got {order}")
        axes = tuple(self.axes[k] for k in order)
        return ImageMetadata(axes, channel_names=self.channel_names,
                             rgb=self.rgb and axes[-1].name == CHANNEL)

    def _axis_index(self, axis) -> int:
        if isinstance(axis, str):
            if axis not in self.names:
                raise ValueError(f"no axis named {axis!r}; axes are {self.names}")
            return self.names.index(axis)
        k = int(axis)
        if not -self.ndim <= k < self.ndim:
            raise ValueError(f"axis {axis} out of range for {self.ndim} axes")
        return k % self.ndim

    def drop_image_axis(self, image_axis: int) -> ImageMetadata:
        """After a projection along image axis ``image_axis`` (0 = the first
        axis after the image axis): that axis is gone."""
        k = image_axis + 1
        axes = self.axes[:k] + self.axes[k + 1:]
        dropped = self.axes[k].name
        return ImageMetadata(
            axes,
            channel_names=None if dropped == CHANNEL else self.channel_names,
            rgb=self.rgb and dropped != CHANNEL and axes[-1].name == CHANNEL,
        )

    def drop_axes(self, stack_axes) -> ImageMetadata:
        """Without the stack axes ``stack_axes`` (``squeeze``)."""
        drop = set(stack_axes)
        kept = tuple(a for k, a in enumerate(self.axes) if k not in drop)
        has_c = any(a.name == CHANNEL for a in kept)
        return ImageMetadata(kept, channel_names=self.channel_names if has_c else None,
                             rgb=self.rgb and kept[-1].name == CHANNEL)

    def subsampled(self, factors) -> ImageMetadata:
        """After keeping every ``f``-th pixel along each image axis: the scale
        is multiplied by ``f`` (the origin stays on pixel 0)."""
        axes = (self.axes[0],) + tuple(
            replace(a, scale=a.scale * f) for a, f in zip(self.axes[1:], factors))
        return replace(self, axes=axes)

    def sliced(self, index, shape) -> ImageMetadata:
        """After ``stack[index]`` where every entry of ``index`` is a slice
        (integers already turned into length-1 slices; images taken by a
        list of indices keep axis 0): the origin moves to the first index
        kept, the scale is multiplied by the step.

        Parameters
        ----------
        index : tuple of slice
            One entry per leading axis (missing entries mean ``:``).
        shape : tuple of int
            Shape of the stack before slicing.

        Returns
        -------
        ImageMetadata
        """
        axes = list(self.axes)
        for k, item in enumerate(index):
            if not isinstance(item, slice):
                continue
            start, _, step = item.indices(shape[k])
            if step < 0:
                # a reversed axis has no positive-scale description: keep it as is
                continue
            a = axes[k]
            axes[k] = replace(a, translate=a.translate + start * a.scale, scale=a.scale * step)
        channel_names = self.channel_names
        c = self.channel_axis
        if channel_names is not None and c is not None and c < len(index) \
                and isinstance(index[c], slice):
            channel_names = tuple(channel_names[index[c]])
        return replace(self, axes=tuple(axes), channel_names=channel_names)

    def for_value_shape(self, value_ndim: int, rgb: bool | None = None) -> ImageMetadata:
        """Metadata for a result whose images have ``value_ndim`` axes (``map``):
        kept when the rank is the same, otherwise the defaults with axis 0
        kept."""
        if value_ndim + 1 == self.ndim:
            return self
        rgb = False if rgb is None else rgb
        default = ImageMetadata.default(value_ndim + 1, rgb=rgb)
        return replace(default, axes=(self.axes[0],) + default.axes[1:])

    # -- per-axis filter parameters ------------------------------------------------
    def expand_per_axis(self, value, fill, name: str):
        """A filter parameter for every image axis, never mixing channels.

        A single value applies to the spatial axes and ``fill`` (the value
        that leaves an axis untouched: sigma 0, size 1, factor 1) to the
        channel axis; a sequence with one entry per spatial axis is spread
        over them the same way; a sequence with one entry per image axis is
        used as given.

        Parameters
        ----------
        value : number or sequence
        fill : number
        name : str
            Argument name, for the message.

        Returns
        -------
        number or tuple
            ``value`` unchanged when the stack has no channel axis.

        Raises
        ------
        ValueError
            A sequence with neither one entry per spatial axis nor one per
            image axis.
        """
        c = self.channel_axis
        if c is None or c == 0:
            return value
        spatial = self.spatial_image_axes()
        nimage = self.ndim - 1
        if _is_sequence(value):
            items = list(value)
            if len(items) == nimage:
                return tuple(items)
            if len(items) != len(spatial):
                raise ValueError(
                    f"{name} must be a single value, one value per spatial axis "
                    f"({len(spatial)}: {tuple(self.names[k + 1] for k in spatial)}) or one per "
                    f"image axis ({nimage}), got {len(items)} values: {value!r}")
        else:
            items = [value] * len(spatial)
        out = [fill] * nimage
        for k, item in zip(spatial, items):
            out[k] = item
        return tuple(out)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dict (``axes``, ``channel_names``, ``rgb``)."""
        return {
            "version": SCHEMA,
            "axes": [{"name": a.name, "scale": a.scale, "translate": a.translate, "unit": a.unit}
                     for a in self.axes],
            "channel_names": None if self.channel_names is None else list(self.channel_names),
            "rgb": self.rgb,
        }

    @classmethod
    def from_dict(cls, data) -> ImageMetadata:
        """Metadata from :meth:`to_dict`'s form.

        Parameters
        ----------
        data : dict

        Returns
        -------
        ImageMetadata

        Raises
        ------
        ValueError
            A malformed dict (the message says what is wrong).
        """
        if not isinstance(data, dict) or not isinstance(data.get("axes"), list):
            raise ValueError("metadata must be a dict with a list of 'axes'")
        axes = []
        for entry in data["axes"]:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ValueError(f"each metadata axis must be a dict with a 'name', got {entry!r}")
            axes.append(Axis(entry["name"], entry.get("scale", 1.0), entry.get("translate", 0.0),
                             entry.get("unit")))
        return cls(tuple(axes), channel_names=data.get("channel_names"),
                   rgb=bool(data.get("rgb", False)))

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict())

    # -- napari -------------------------------------------------------------------------
    def layer_kwargs(self, drop_image_axis: bool = False) -> dict:
        """``viewer.add_image`` keyword arguments: ``scale``, ``translate``,
        ``units``, ``axis_labels``, ``rgb`` and ``channel_axis``.

        Parameters
        ----------
        drop_image_axis : bool
            The layer shows one image (axis 0 of length 1 dropped).

        Returns
        -------
        dict
            napari's per-axis values describe the axes a layer shows: without
            the RGB samples axis, and for a channel axis (given as
            ``channel_axis``: napari makes one layer per channel) without the
            channel axis.
        """
        axes = self.axes[1:] if drop_image_axis else self.axes
        offset = 1 if drop_image_axis else 0
        kwargs = {"rgb": self.rgb}
        c = self.channel_axis
        if c is not None and not self.rgb and c - offset >= 0:
            kwargs["channel_axis"] = c - offset
            shown = tuple(a for a in axes if a.name != CHANNEL)
        else:
            shown = axes[:-1] if self.rgb else axes
        kwargs["scale"] = tuple(a.scale for a in shown)
        kwargs["translate"] = tuple(a.translate for a in shown)
        kwargs["axis_labels"] = tuple(a.name for a in shown)
        if any(a.unit for a in shown):
            kwargs["units"] = tuple(a.unit or "pixel" for a in shown)
        return kwargs


def _is_sequence(value) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    if hasattr(value, "ndim"):
        return value.ndim > 0
    return isinstance(value, (list, tuple))
