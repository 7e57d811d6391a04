"""One Construct per concern. Every provider import goes through the fast bindings loader."""

from modules import _bindings

_bindings.install()
