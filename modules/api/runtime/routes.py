"""The API's contract, defined once: the infrastructure builds a resource and method per route, the handler
dispatches to the function each route names. Deployed with the handler (stdlib only)."""

# 2.0.0: one execution per (videoId, run); POST answers 200/409 for a run that exists, GET takes ?run=N.
SERVICE_VERSION = "2.0.0"

# path -> {HTTP method -> handler function name}; path parts in braces are path parameters.
ROUTES: dict[str, dict[str, str]] = {
    "/videos": {"POST": "start_video"},
    "/videos/{videoId}": {"GET": "get_video"},
    "/metadata": {"GET": "get_metadata"},
}


def pairs() -> list[tuple[str, str]]:
    """Every (path, method), in declaration order."""
    return [(path, method) for path, methods in ROUTES.items() for method in methods]
