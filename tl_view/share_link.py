"""Settings in a link: the config's differences from the defaults as compact JSON, base64url-encoded (as
TensorFlow Playground keeps its state in the URL), so a link fills the Experiment form with them."""
from __future__ import annotations

import base64
import binascii
import json

from tl_core.config import RunConfig
from tl_core.errors import UserError

LABELS = ("role", "experiment", "arm")  # who ran it and why is not part of what a link shares
MAX_CHARS = 4000


class BadLink(UserError):
    """A link whose settings cannot be read."""


def encode_config(config: RunConfig) -> str:
    defaults = RunConfig().to_dict()
    diff = {k: v for k, v in config.to_dict().items() if k not in LABELS and v != defaults.get(k)}
    text = json.dumps(diff, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_config(text: str) -> RunConfig:
    """The config a link carries (defaults for what it leaves out); BadLink when it is not one of ours."""
    if not text or len(text) > MAX_CHARS:
        raise BadLink("This link's settings are empty or too long: ask for a fresh link.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        diff = json.loads(raw.decode("utf-8"))
        if not isinstance(diff, dict):
            raise ValueError("not an object")
        return RunConfig.from_dict({**RunConfig().to_dict(), **{k: v for k, v in diff.items() if k not in LABELS}})
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, binascii.Error) as err:
        raise BadLink(f"This link's settings cannot be read ({err}): ask for a fresh link.") from None
