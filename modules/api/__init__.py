"""The video API: `infrastructure.py` (API Gateway and the function) beside `runtime/` (the function's code and the
routes both read)."""
