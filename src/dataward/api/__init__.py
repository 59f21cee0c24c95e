"""HTTP plumbing shared by every domain's routes: problem+json, the security middleware, dependencies."""
