"""webapp-serve's options and its metrics folder; tests/test_wheel.py starts it for real."""

import os
from pathlib import Path

import pytest

from webapp.serve import METRICS_DIR, multiprocess_metrics_dir, parse_args


def test_defaults_are_loopback_port_8000_a_worker_per_cpu_and_four_threads(monkeypatch):
    for name in ("HOST", "PORT", "WORKERS", "THREADS"):
        monkeypatch.delenv(name, raising=False)
    args = parse_args([])
    assert (args.host, args.port, args.workers, args.threads) == (
        "127.0.0.1",
        8000,
        os.cpu_count(),
        4,
    )


def test_the_environment_sets_the_options_and_the_command_line_wins(monkeypatch):
    monkeypatch.setenv("HOST", "::1")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("WORKERS", "3")
    monkeypatch.setenv("THREADS", "4")
    args = parse_args(["--port", "9100"])
    assert (args.host, args.port, args.workers, args.threads) == ("::1", 9100, 3, 4)


def test_a_bad_number_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv("WORKERS", "many")
    with pytest.raises(SystemExit):
        parse_args([])
    assert "argument --workers: invalid int value: 'many'" in capsys.readouterr().err


def test_each_start_gets_a_fresh_metrics_folder_removed_on_exit(monkeypatch):
    monkeypatch.delenv(METRICS_DIR, raising=False)
    with multiprocess_metrics_dir() as first:
        assert os.environ[METRICS_DIR] == first
        assert Path(first).is_dir() and not any(Path(first).iterdir())
        (Path(first) / "counter_1.db").write_bytes(b"left by a worker")
    assert not Path(first).exists()
    assert METRICS_DIR not in os.environ
    with multiprocess_metrics_dir() as second:
        assert second != first and not any(Path(second).iterdir())


def test_a_given_metrics_folder_is_used_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv(METRICS_DIR, str(tmp_path))
    with multiprocess_metrics_dir() as folder:
        assert folder == str(tmp_path)
    assert tmp_path.is_dir()
    assert os.environ[METRICS_DIR] == str(tmp_path)
