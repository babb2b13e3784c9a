"""A worker's claim leases kept alive while it works (store.claims): one daemon thread per runner."""

from __future__ import annotations

import logging
import threading

from store.recorder import Recorder

log = logging.getLogger(__name__)


class ClaimHeartbeat:
    """Renews this worker's claim leases every lease/3 seconds from a daemon thread, so a long step
    (generation on CPU, a learner round between waves) never lets them expire; a kill -9 stops it."""

    def __init__(self, rec: Recorder, worker: str, lease_s: float) -> None:
        self.rec, self.worker, self.lease_s = rec, worker, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="claim-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.rec.renew_claims(self.worker, self.lease_s)
            except Exception:  # a blip in the database: try again next beat
                log.warning("could not renew the episode claims of %s", self.worker, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
