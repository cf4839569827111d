"""The HTTP layer: routers per resource, authentication as dependencies, errors as ErrorBody."""
