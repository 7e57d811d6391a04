"""The TerraformStack that wires the modules together, one instance per environment."""

import modules  # noqa: F401  installs the fast AWS bindings loader before any provider import
