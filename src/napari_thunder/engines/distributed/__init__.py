"""The dask.distributed engine: the embedded engine's lazy dask arrays,
computed by the workers of a dask cluster.

* :mod:`.client` — the client an ``engine=`` value means (a
  ``distributed.Client``, a scheduler address, ``'distributed'``);
* :mod:`.frames` — :class:`DistributedFrames`, the engine contract;
* :mod:`.streams` — chunk results in frame order, cancel, tree aggregation;
* :mod:`.tiles` — :class:`DistributedBlockStore` (Series/Blocks backing);
* :mod:`.errors` — :class:`WorkerLostError`.

Importing this package does not import ``distributed``; the functions that
talk to the cluster do. Made only by :func:`napari_thunder.engines.factory.resolve_engine`.
"""

from __future__ import annotations

from napari_thunder.engines.distributed.client import connect, scheduler_address
from napari_thunder.engines.distributed.errors import WorkerLostError
from napari_thunder.engines.distributed.frames import DistributedFrames
from napari_thunder.engines.distributed.tiles import DistributedBlockStore

__all__ = ["DistributedBlockStore", "DistributedFrames", "WorkerLostError", "connect",
           "scheduler_address"]
