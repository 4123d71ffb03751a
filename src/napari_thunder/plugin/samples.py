"""Sample data under File > Open Sample > Thunder: every bundled example.

Each function loads ``images.fromexample(name)`` (synthetic data shipped with
the package, see ``napari_thunder.sample_data``) on the local engine and
returns it as a lazy layer, with contrast limits from the data's percentiles
(not the dtype's range: the uint8 'fish' would look dark). ``napari.yaml`` lists one ``sample_data`` entry per
name of ``napari_thunder.sample_data.EXAMPLES``.
"""

from __future__ import annotations


def example_layer_data(name: str):
    """``[LayerDataTuple]`` of the bundled example ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a bundled example (the message lists the options).
    """
    from napari_thunder import images
    from napari_thunder.data.layers import images_to_layer_data
    from napari_thunder.plugin.convert import display_limits
    from napari_thunder.sample_data import EXAMPLES

    imgs = images.fromexample(name)
    data, kwargs, kind = images_to_layer_data(imgs, name=name,
                                              metadata={"description": EXAMPLES[name]})
    if kwargs.get("channel_axis") is None:
        kwargs["contrast_limits"] = display_limits(data, imgs.dtype, rgb=bool(kwargs.get("rgb")))
    # every example is shown whole in the world, one beside the other when
    # several are open (napari blends later layers over earlier ones: opaque
    # would hide them, additive keeps both visible)
    kwargs.setdefault("blending", "additive")
    return [(data, kwargs, kind)]


def mouse():
    """The 'mouse' example: 20 frames of 64x64 int16, shown as (n, y, x)."""
    return example_layer_data("mouse")


def fish():
    """The 'fish' example: 20 volumes of 2 planes x 76x87 uint8, (n, z, y, x)."""
    return example_layer_data("fish")
