"""The product website for signed-in end users: their projects and a token to look at."""

from webapp.main.routes import bp

__all__ = ["bp"]
