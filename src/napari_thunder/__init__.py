"""napari-thunder: Thunder's images API for napari, local or on Apache Spark.

Use ``from napari_thunder import images`` for the loaders (``images.fromtif``,
``images.frombinary``, ...). Importing this package is cheap: the data classes
are imported on first use, and napari, Qt and pyspark only by the functions
that need them.
"""

from importlib import import_module

__version__ = "0.1.0"  # the only copy: pyproject.toml reads it (dynamic version)

_LAZY = {
    "images": ("napari_thunder.images", None),
    "series": ("napari_thunder.series", None),
    "Images": ("napari_thunder.data.images", "Images"),
    "Series": ("napari_thunder.data.series", "Series"),
    "TimeSeries": ("napari_thunder.data.series", "TimeSeries"),
    "Blocks": ("napari_thunder.data.blocks", "Blocks"),
}

__all__ = ["Blocks", "Images", "Series", "TimeSeries", "__version__", "images", "series"]


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'napari_thunder' has no attribute {name!r}") from None
    mod = import_module(module)
    return mod if attr is None else getattr(mod, attr)


def __dir__():
    return sorted(set(globals()) | set(__all__))
