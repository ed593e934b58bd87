"""Settings in a link: the config's differences from the defaults as compact JSON, base64url-encoded (as
TensorFlow Playground keeps its state in the URL), so a link fills the Experiment form with them."""
from __future__ import annotations

import base64
import binascii
import json
import os

from tl_core.errors import UserError
from tl_core.runs.config import RunConfig
from tl_core.runs.validation import config_from_browser

LABELS = ("role", "experiment", "arm")  # who ran it and why is not part of what a link shares
# Neither is what a lesson or check sets for itself (a run's name, its snapshots): a link carries choices.
NOT_SHARED = LABELS + ("name", "snapshot_every", "snapshot_size")
PATH_PREFIXES = {"source": "folder:", "target": "folder:", "weights": "file:"}
MAX_CHARS = 4000


class BadLink(UserError):
    """A link whose settings cannot be read."""


def encode_config(config: RunConfig) -> str:
    """The settings a user chooses, as they differ from the defaults: never names, roles or snapshot sizes, and
    a folder or weights file only as its name under the server's root (never a server path)."""
    defaults = RunConfig().to_dict()
    diff = {k: v for k, v in config.to_dict().items() if k not in NOT_SHARED and v != defaults.get(k)}
    for key, prefix in PATH_PREFIXES.items():
        if key in diff and str(diff[key]).startswith(prefix):
            name = _name_under_root(key, str(diff[key])[len(prefix):])
            if name:
                diff[key] = prefix + name
            else:
                del diff[key]
    text = json.dumps(diff, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _name_under_root(key: str, path: str) -> str:
    """A folder or weights file as its name under its root ("" for a path outside it: that stays off the link)."""
    from tl_core.serving.confine import name_under, upload_root, weights_root

    root = weights_root() if key == "weights" else upload_root()
    name = name_under(path, root)
    return "" if os.path.isabs(name) or ".." in name.split(os.sep) else name


def decode_config(text: str) -> tuple[RunConfig, list[str]]:
    """(the config a link carries, what of it was left out and why): every field is held to the schema and to
    the names this server offers (`config_from_browser`) before anything is built, sized or timed; a field that
    fails keeps its default. BadLink when the text is not one of our links at all."""
    if not text or len(text) > MAX_CHARS:
        raise BadLink("This link's settings are empty or too long: ask for a fresh link.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        diff = json.loads(raw.decode("utf-8"))
        if not isinstance(diff, dict):
            raise ValueError("not an object")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, binascii.Error) as err:
        raise BadLink(f"This link's settings cannot be read ({err}): ask for a fresh link.") from None
    return config_from_browser({k: v for k, v in diff.items() if k not in LABELS})
