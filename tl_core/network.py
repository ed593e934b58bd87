"""Fast offline detection, so a download that cannot work fails in well under 2 seconds."""
import functools
import os
import socket


def is_online(host: str = "huggingface.co", port: int = 443, timeout_s: float = 1.0) -> bool:
    """True when `host` resolves and accepts a TCP connection within `timeout_s` (the answer is cached).

    `TL_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) forces offline without touching the network.
    """
    if os.environ.get("TL_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    return _reachable(host, port, timeout_s)


@functools.lru_cache(maxsize=None)
def _reachable(host: str, port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
