"""OpenAPI specs of the three vendors and the contract runner built on schemathesis."""
