"""Sample data under File > Open Sample > Thunder: every bundled example.

Each function loads ``images.fromexample(name)`` (synthetic data shipped with
the package, see ``napari_thunder.sample_data``) on the local engine and
returns it as a lazy layer, with contrast limits from the data's percentiles
(not the dtype's range: the uint8 'fish' would look dark). ``napari.yaml`` lists one ``sample_data`` entry per
name of ``napari_thunder.sample_data.EXAMPLES``.

Opening ``mouse`` (t, y, x) into a viewer showing ``fish`` (t, z, y, x), or
the reverse, warns that napari puts the mouse's time on the fish's z slider
(it aligns axes from the right, whatever their names): the fish then shows
nothing on planes it does not have.
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
    _warn_when_axes_clash(name, kwargs.get("axis_labels"))
    return [(data, kwargs, kind)]


def _named(labels) -> bool:
    """Axis labels someone chose (not napari's defaults, ``'-3'``, ``'0'``...)."""
    return bool(labels) and not any(str(label).lstrip("-").isdigit() for label in labels)


def axis_clashes(labels, other_labels) -> list:
    """Pairs ``(label, other_label)`` that napari puts on one slider.

    napari lines the axes of its layers up from the right (NumPy
    broadcasting), not by name: a ``('t', 'y', 'x')`` layer beside a
    ``('t', 'z', 'y', 'x')`` one has its ``t`` on the other's ``z``.

    Parameters
    ----------
    labels, other_labels : sequence of str
        Axis labels of two layers, first axis first.

    Returns
    -------
    list of tuple of str
        The differently named axes sharing a position, first axis first;
        empty when either layer's labels are napari's defaults.
    """
    if not (_named(labels) and _named(other_labels)):
        return []
    pairs = zip(reversed(tuple(labels)), reversed(tuple(other_labels)))
    return [(a, b) for a, b in pairs if a != b][::-1]


def _warn_when_axes_clash(name, labels) -> None:
    """Warn when the example opens into a viewer where napari would put one
    of its axes on a differently named axis of a layer already there (one
    slider then moves one layer in time and the other in depth, and shows
    one of them empty)."""
    try:
        import napari
        from napari.utils.notifications import show_warning
    except ImportError:  # pragma: no cover - the plugin runs inside napari
        return
    viewer = napari.current_viewer()
    if viewer is None or not labels:
        return
    for layer in viewer.layers:
        other = tuple(getattr(layer, "axis_labels", ()) or ())
        clashes = axis_clashes(labels, other)
        if clashes:
            shared = ", ".join(f"{name}'s {a} is {layer.name}'s {b}" for a, b in clashes)
            show_warning(
                f"'{name}' and '{layer.name}' share a slider: {shared} (napari lines axes up "
                f"from the right, not by name: {name} ({', '.join(labels)}), {layer.name} "
                f"({', '.join(other)})), so one of them looks empty on most steps. To browse "
                f"both, open '{name}' in a window of its own: napari-thunder gui {name}"
            )
            return


def mouse():
    """The 'mouse' example: 20 frames of 64x64 int16, shown as (n, y, x)."""
    return example_layer_data("mouse")


def fish():
    """The 'fish' example: 20 volumes of 2 planes x 76x87 uint8, (n, z, y, x)."""
    return example_layer_data("fish")
