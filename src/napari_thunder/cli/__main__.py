"""``python -m napari_thunder.cli``: the ``napari-thunder`` command."""

import sys

from napari_thunder.cli import main

if __name__ == "__main__":  # not when merely imported (e.g. by pkgutil.walk_packages)
    sys.exit(main())
