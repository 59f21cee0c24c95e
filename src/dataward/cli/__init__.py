"""The `dataward` command line: a thin shell over the same services the HTTP API uses."""
