"""Where the templates and the migrations are: inside the package when it was installed from
the wheel (the build maps them in), beside it in a checkout (where they are edited)."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> str:
    """The packaged folder first: beside an installed package, site-packages may hold another
    distribution's top-level folder of the same name."""
    inside = PACKAGE / name
    return str(inside if inside.is_dir() else PACKAGE.parent / name)
