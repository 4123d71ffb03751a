"""``python -m napari_thunder.cli``: the ``napari-thunder`` command."""

import sys

from napari_thunder.cli import main

sys.exit(main())
