"""A run's life before and around training: its config and the schema of its fields, validation, identity (role,
experiment, arm), status, fingerprint (identical work is done once), its baseline twin and pairs, and the runner
that prepares, executes and records it."""
