"""Bundled example datasets (synthetic; see README.md in this folder).

``EXAMPLES`` maps each dataset name to a one-line description; :func:`path`
gives the absolute folder holding a dataset's files. The loaders use them
through ``napari_thunder.images.fromexample(name)``.
"""

from __future__ import annotations

import os

__all__ = ["EXAMPLES", "LOADERS", "path"]

EXAMPLES = {
    "mouse": (
        "synthetic two-photon-like calcium-imaging movie, 20 frames of 64x64 int16: "
        "16 cells with sparse transients over background and shot noise "
        "(flat binary, Fortran order, conf.json)"
    ),
    "fish": (
        "synthetic light-sheet-like volume time series of a larval zebrafish brain, "
        "20 volumes of 2 z-planes x 76x87 uint8 (two-page TIFF files)"
    ),
}

#: How each dataset is loaded: ``(loader name in napari_thunder.images, keyword arguments)``.
LOADERS = {
    "mouse": ("frombinary", {"order": "F"}),
    "fish": ("fromtif", {}),
}

_HERE = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """Absolute path of the folder holding the example dataset ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`EXAMPLES` (``'mouse'``, ``'fish'``).

    Returns
    -------
    str
        The dataset's folder (files plus, for binary data, ``conf.json``).

    Raises
    ------
    ValueError
        If ``name`` is not a bundled example; the message lists the options.
    FileNotFoundError
        If the dataset's folder is missing from the installation.
    """
    if not isinstance(name, str) or name not in EXAMPLES:
        options = ", ".join(repr(k) for k in EXAMPLES)
        raise ValueError(f"Unknown example name {name!r}; choose one of {options}")
    folder = os.path.join(_HERE, name)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Example data folder {folder} is missing from the installation; reinstall "
            f"napari-thunder (in a source checkout: 'python tools/make_samples.py')"
        )
    return folder
