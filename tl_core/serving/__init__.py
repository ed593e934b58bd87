"""Serving runs to many users on one server: the job manager and its executors, the fair queue, owners, quotas,
privacy and confined paths, chained stages, and what a run will cost (calibration, promises, the live ETA)."""
