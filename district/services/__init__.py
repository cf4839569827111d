"""The server's use cases: each one transaction, called by the routers and the seed."""
