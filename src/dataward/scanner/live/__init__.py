"""`scan live`: probes against a running API, bounded in requests and time."""
