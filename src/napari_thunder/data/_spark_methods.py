"""Thunder's Spark-only methods (``cache``, ``repartition``, ...), shared by
``Images`` and ``Series``.

As in Thunder 1.4.2 they act on the RDD of a Spark-mode object and raise
``NotImplementedError`` in the other modes (local, dask.distributed), which
have no partitions or cache to manage.
"""

from __future__ import annotations


class SparkMethods:
    """Mixin over ``self.frames`` and ``self.mode``; subclasses provide
    ``_with_frames(frames)``: the same object (labels, index...) on other frames."""

    def _with_frames(self, frames):  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def _spark_only(self, name):
        if self.mode != "spark":
            raise NotImplementedError(f"{name} is not supported in {self.mode} mode (Spark only)")

    def cache(self):
        """Keep the data in Spark executor memory (Spark only).

        Returns
        -------
        same type
            This object (its RDD marked as cached).

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("cache")
        self.frames.tordd().cache()
        return self

    def uncache(self):
        """Release the cached data (Spark only).

        Returns
        -------
        same type
            This object.

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("uncache")
        self.frames.tordd().unpersist()
        return self

    def iscached(self) -> bool:
        """Whether the data are cached (Spark only).

        Returns
        -------
        bool

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("iscached")
        return bool(self.frames.tordd().is_cached)

    def compute(self) -> None:
        """Run the pending lazy work now (Spark only; with ``cache()`` the
        results stay in memory).

        Returns
        -------
        None

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("compute")
        self.frames.tordd().count()

    def repartition(self, npartitions):
        """The same data in ``npartitions`` Spark partitions (a shuffle; Spark only).

        Parameters
        ----------
        npartitions : int
            Number of partitions after the shuffle.

        Returns
        -------
        same type

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("repartition")
        return self._with_frames(self.frames.repartition(int(npartitions)))

    def coalesce(self, npartitions):
        """The same data in fewer Spark partitions (Spark only).

        Parameters
        ----------
        npartitions : int
            Number of partitions, at most the current count.

        Returns
        -------
        same type

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        ValueError
            ``npartitions`` is more than the current count.
        """
        self._spark_only("coalesce")
        current = self.frames.npartitions()
        if int(npartitions) > current:
            raise ValueError(f"Trying to increase number of partitions (from {current} to "
                             f"{npartitions}), cannot use coalesce, try repartition")
        return self.repartition(npartitions)
