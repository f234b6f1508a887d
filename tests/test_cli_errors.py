"""Every command answers a failure in one line and a non-zero exit, never a traceback."""

import pytest
from helpers import using_postgresql

from webapp import create_app

HELP_TARGETS = [
    ["users"],
    ["users", "create"],
    ["users", "list"],
    ["users", "set-admin"],
    ["users", "disable"],
    ["users", "enable"],
    ["setup-link"],
    ["projects"],
    ["projects", "list"],
    ["projects", "check"],
    ["projects", "export"],
    ["projects", "import"],
    ["keys"],
    ["keys", "rotate"],
    ["tokens"],
    ["tokens", "issue"],
]

# Every command that touches the database, with arguments it accepts.
COMMANDS = [
    ["users", "list"],
    ["users", "create", "ada@example.com", "--password-stdin"],
    ["users", "set-admin", "ada@example.com"],
    ["users", "disable", "ada@example.com"],
    ["users", "enable", "ada@example.com"],
    ["setup-link"],
    ["projects", "list"],
    ["projects", "check"],
    ["projects", "export"],
    ["projects", "export", "--with-secrets"],
    ["projects", "import", "-"],
    ["projects", "import", "-", "--dry-run"],
    ["keys", "rotate"],
    ["tokens", "issue", "--project", "shop", "--user", "ada@example.com"],
]


@pytest.mark.parametrize("args", HELP_TARGETS, ids=" ".join)
def test_every_command_has_help(runner, args):
    result = runner.invoke(args=[*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def unreachable_database_url(tmp_path) -> str:
    if using_postgresql():
        return "postgresql+psycopg://postgres@127.0.0.1:1/gone?connect_timeout=5"
    return f"sqlite:///{tmp_path / 'missing-folder' / 'gone.sqlite3'}"


@pytest.fixture
def unreachable_runner(make_app, tmp_path):
    return make_app(SQLALCHEMY_DATABASE_URI=unreachable_database_url(tmp_path)).test_cli_runner()


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line(unreachable_runner, args):
    document = '{"format": 1, "projects": []}'
    result = unreachable_runner.invoke(
        args=args, input=f"{document}\n" if "-" in args else "a long enough password\n"
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: The database cannot be reached: "), line


def test_an_unmigrated_database_is_one_line(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DEPLOYMENT": "development",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        },
        instance_path=str(tmp_path / "instance"),
    )
    result = app.test_cli_runner().invoke(args=["projects", "list"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "flask db upgrade" in line
