"""The gateway: the one front door for client apps. Authenticates, routes, fans out, merges; holds no data."""
