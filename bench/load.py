"""A bounded HTTP load generator for loopback: threads, one keep-alive connection each.

Every thread sends GET requests back to back on its own http.client connection until the time
is up (or a request cap is reached), reconnecting when the server closes the connection.
Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

MAX_REQUESTS = 200_000


@dataclass
class LoadResult:
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_load(
    port: int, path: str, headers: dict[str, str], *, connections: int, seconds: float, ok: tuple[int, ...] = (200,)
) -> LoadResult:
    """GET ``path`` on 127.0.0.1:``port`` from ``connections`` threads for ``seconds``."""
    lock = threading.Lock()
    result = LoadResult(seconds=seconds)
    budget = [MAX_REQUESTS]
    start = threading.Barrier(connections + 1)

    def worker() -> None:
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        errors = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - began)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status not in ok:
                errors += 1
        conn.close()
        with lock:
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(seconds + 30)
    result.seconds = time.monotonic() - began
    return result
