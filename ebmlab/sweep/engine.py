"""Running a sweep's tasks on Dask distributed: a LocalCluster of worker processes, or an existing scheduler.

Dask schedules, retries a task whose worker died (up to distributed.scheduler.allowed-failures) and moves
the data; this module only submits payloads, saves each record as it completes and reports progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..core.errors import EbmlabError

CONNECT_TIMEOUT_S = 10


def _worker_versions() -> str:  # runs on each worker: can it import ebmlab, and which version?
    import ebmlab

    return getattr(ebmlab, "__version__", "unknown")


def local_worker_environ() -> dict[str, str]:
    """Dask's variables for a new worker process, less MALLOC_TRIM_THRESHOLD_=65536: that fixed threshold
    (meant to hand freed memory back to the OS) made torch's many small allocations ~45% slower here
    (lesson 01, 400 steps: 0.46 s -> 0.65 s per run, measured with and without it in a plain process);
    glibc's own dynamic threshold is kept. Runs are short and small, so memory held back is not a concern."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


class Engine:
    """A Dask client (and the LocalCluster it owns, if any); use as a context manager."""

    def __init__(self, scheduler: str | None = None, workers: int = 2, threads: int = 1):
        self.scheduler = scheduler
        self.workers = workers
        self.threads = threads
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Engine:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise EbmlabError("sweeps need Dask distributed: pip install 'dask[distributed]'") from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
                self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as e:
                self.close()
                raise EbmlabError(
                    f"--scheduler {self.scheduler}: cannot reach a Dask scheduler with workers there within "
                    f"{CONNECT_TIMEOUT_S} s ({type(e).__name__}: {e}); start one with `dask scheduler` and "
                    "`dask worker ADDRESS`, or leave --scheduler out for a local cluster"
                ) from None
            try:
                self.client.run(_worker_versions)
            except Exception as e:  # noqa: BLE001 - whatever the worker raised, the message says where
                self.close()
                raise EbmlabError(
                    f"--scheduler {self.scheduler}: its workers cannot import ebmlab ({type(e).__name__}: {e}); "
                    "install ebmlab in the workers' environment"
                ) from None
        else:
            if self.workers < 1:
                raise EbmlabError(f"--workers {self.workers}: need at least 1 worker")
            with dask.config.set({"distributed.nanny.pre-spawn-environ": local_worker_environ()}):
                self.cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    silence_logs=logging.ERROR,
                    dashboard_address=":8787",
                )
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001,S110 - closing after an error must not hide that error
                    pass
        self.client = self.cluster = None

    @property
    def dashboard(self) -> str | None:
        """The dashboard's address, when the scheduler serves one (bokeh installed)."""
        try:
            services = self.client.scheduler_info().get("services", {})
            return self.client.dashboard_link if "dashboard" in services else None
        except Exception:  # noqa: BLE001 - the address is a courtesy, never a reason to fail
            return None

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def run(self, payloads: list[dict], on_record: Callable[[dict], None]) -> None:
        """Submit every payload; call on_record(record) in the main thread as each run completes.
        A run whose task Dask could not complete (its workers kept dying) gets status 'lost'."""
        from distributed import as_completed

        from .task import run_payload

        futures = {}
        for p in payloads:
            f = self.client.submit(run_payload, p, key=f"ebmlab-run-{p['run_id']}", pure=False)
            futures[f.key] = (f, p)
        try:
            for f in as_completed([f for f, _ in futures.values()]):
                payload = futures[f.key][1]
                try:
                    record = f.result()
                except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: recorded, retried on resume
                    record = {
                        "run_id": payload["run_id"],
                        "setting": payload["setting"],
                        "seed": payload["seed"],
                        "status": "lost",
                        "reason": f"{type(e).__name__}: {e}",
                        "history": [],
                    }
                on_record(record)
        finally:
            for f, _ in futures.values():
                f.release()
