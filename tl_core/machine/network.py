"""Fast offline detection, so a download that cannot work fails in well under 2 seconds."""
import functools
import os
import socket
import threading


def is_online(host: str = "huggingface.co", port: int = 443, timeout_s: float = 1.0) -> bool:
    """True when `host` resolves and accepts a TCP connection within `timeout_s` (the answer is cached).

    `TL_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) forces offline without touching the network.
    """
    if os.environ.get("TL_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    return _reachable(host, port, timeout_s)


@functools.lru_cache(maxsize=None)
def _reachable(host: str, port: int, timeout_s: float) -> bool:
    """The name lookup has no timeout of its own, so the whole probe runs in a thread we stop waiting for."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)
    return bool(result and result[0])
