from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from cirrostratus.cli import cli


def test_help_lists_command_families() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "create", "show", "validate", "run", "task", "workflow"):
        assert name in result.output


def test_unknown_command_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cirrostratus", "frobnicate"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "No such command" in proc.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from cirrostratus.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('boto3', 'fastapi', 'dask', 'rasterio', 'moto') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
