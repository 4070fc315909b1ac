"""Every benchmark script still imports what it measures: each answers --help (which imports the package's
modules it uses) without running. The benchmarks themselves run with bench/run_all.py, not in the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(BENCH.glob("bench_*.py")) + [BENCH / "run_all.py"]  # bench_hostile imports hostile_configs


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_benchmark_script_imports_what_it_measures(script):
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, timeout=60,
                            cwd=BENCH.parent)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert b"usage:" in result.stdout
