"""Errors a user can fix. Their message says what to do; the CLI prints it on one line and exits 2."""


class UserError(Exception):
    """Bad input or a missing resource: shown as a message, never as a traceback."""


class ConfigError(UserError):
    """A run configuration that cannot work (unknown name, value out of range)."""


class DatasetError(UserError):
    """A dataset that cannot be built or loaded."""


class OfflineError(UserError):
    """Something needs the internet and the machine has none."""


class WeightsError(UserError):
    """Weights that cannot be loaded safely or do not fit the model."""
