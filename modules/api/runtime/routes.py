"""The API's contract, defined once: the infrastructure builds a resource and method per route, the handler
dispatches to the function each route names. Deployed with the handler (stdlib only)."""

# 2.0.0: one execution per (videoId, run); POST answers 200/409 for a run that exists, GET takes ?run=N.
SERVICE_VERSION = "2.0.0"

# POST /videos' body rules: the handler checks them, and so does API Gateway's request model for the route
# (infrastructure.py) before the function runs. Defined once here, so the two cannot disagree.
VIDEO_ID_PATTERN = "[A-Za-z0-9_-]{1,128}"  # the whole videoId (fullmatch): ASCII letters, digits, '_' and '-'
VIDEO_ID_RULE = "videoId must be 1-128 characters of A-Z, a-z, 0-9, '_' or '-'"
MAX_RUN = 1000  # runs are numbered 1 to MAX_RUN; the bound keeps execution names short and mistakes visible
RUN_RULE = f"run must be an integer from 1 to {MAX_RUN}"

# path -> {HTTP method -> handler function name}; path parts in braces are path parameters.
ROUTES: dict[str, dict[str, str]] = {
    "/videos": {"POST": "start_video"},
    "/videos/{videoId}": {"GET": "get_video"},
    "/metadata": {"GET": "get_metadata"},
}


def pairs() -> list[tuple[str, str]]:
    """Every (path, method), in declaration order."""
    return [(path, method) for path, methods in ROUTES.items() for method in methods]
