"""The token endpoint that browsers and the vendor's front ends call, and its description."""

from webapp.api import openapi  # noqa: F401  (registers /openapi.json)
from webapp.api.routes import bp

__all__ = ["bp"]
