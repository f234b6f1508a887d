"""The token endpoint that browsers and the vendor's front ends call."""

from webapp.api.routes import bp

__all__ = ["bp"]
