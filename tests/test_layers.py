"""The layers flow one way (engine → presentation → Streamlit), as `.importlinter` declares."""
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is not installed (it is in requirements-dev.txt)"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_no_engine_module_is_let_off_a_contract():
    """The engine only points down: no `ignore_imports` line exempts a tl_core module."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    exempt = [line.strip() for section in config.sections() for line in
              config[section].get("ignore_imports", "").splitlines() if line.strip()]
    assert not [line for line in exempt if line.startswith("tl_core")], exempt


@pytest.mark.slow
def test_the_feasibility_command_lives_with_its_report(capsys):
    """Writing the report (plotly charts) is presentation: `python -m tl_view feasibility`; the engine's CLI says
    so in one line."""
    from tl_core.cli import main

    assert main(["feasibility", "somewhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "python -m tl_view feasibility PATH" in err
    done = subprocess.run([sys.executable, "-m", "tl_view", "feasibility", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "usage: python -m tl_view feasibility" in done.stdout, done.stderr[-2000:]
