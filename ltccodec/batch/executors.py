"""Where batch work runs: local worker processes, or a Dask cluster (a local one started here, or an existing
scheduler). Both take a function and its chunks of tasks and yield each chunk's results as they finish; the
batch coordinator never knows which it has.

Each local worker is a process that loads its models once (see `batch.run_tasks`) and uses one thread.
Dask workers must have ltccodec and the models installed, and see the input and output folders at the same
paths (a shared file system); the coordinator alone writes the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from ltccodec.errors import UsageError

Work = Callable[[Any, Sequence[Any]], list[Any]]


def _one_thread() -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


class LocalExecutor:
    """``workers`` processes on this machine."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(self, work: Work, job: Any, chunks: Sequence[Sequence[Any]]) -> Iterator[list[Any]]:
        if not chunks:
            return
        with ProcessPoolExecutor(min(self.workers, len(chunks)), initializer=_one_thread) as pool:
            pending = set()
            queue = iter(chunks)
            try:
                for chunk in queue:  # keep a few chunks per worker in flight, not all 100,000 files at once
                    pending.add(pool.submit(work, job, chunk))
                    if len(pending) >= 4 * self.workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            yield future.result()
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise

    def close(self) -> None:
        pass


class DaskExecutor:
    """A Dask cluster: an existing scheduler (``scheduler="tcp://host:port"``), else a local cluster of
    ``workers`` single-threaded worker processes started for this run."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("the Dask executor needs dask.distributed: pip install 'ltccodec[dask]'") from None
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="30s")
            except OSError as error:
                raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        else:
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                         processes=True, dashboard_address=None, silence_logs=40)
            self._client = Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def run(self, work: Work, job: Any, chunks: Sequence[Sequence[Any]]) -> Iterator[list[Any]]:
        from distributed import as_completed

        if not chunks:
            return
        futures = self._client.map(work, [job] * len(chunks), list(chunks), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            self._client.cancel(futures)
            raise

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
