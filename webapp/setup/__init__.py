"""First run: the first admin account, made with a one-time code printed on the console."""

from webapp.setup.routes import bp

__all__ = ["bp"]
