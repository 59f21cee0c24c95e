"""The gateway: the vault's controls in front of an API the team already has, driven by its OpenAPI spec."""
