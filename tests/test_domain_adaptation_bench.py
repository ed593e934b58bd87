"""bench/domain_adaptation.py --from-log: a stopped run's per-seed lines make the same table as a finished run."""
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

LOG = """bench/domain_adaptation.py on CPU (2 cores), torch 2.14.1, 1 threads
  digits→digits-m twin seed 7: target_acc 0.200, confusion 0.900  [10 s, load 2.0 2.0 2.0]
  digits→digits-m adabn seed 7: target_acc 0.250, confusion 0.850  [10 s, load 2.0 2.0 2.0]
  digits→digits-m dann seed 7: target_acc 0.400, confusion 0.700  [20 s, load 2.0 2.0 2.0]
  digits→digits-m target-only seed 7: target_acc 1.000, confusion 0.950  [20 s, load 2.0 2.0 2.0]
  digits→digits-m twin seed 8: target_acc 0.200, confusion 0.900  [30 s, load 2.0 2.0 2.0]
  digits→digits-m adabn seed 8: target_acc 0.200, confusion 0.850  [30 s, load 2.0 2.0 2.0]
  digits→digits-m dann seed 8: target_acc 0.600, confusion 0.800  [40 s, load 2.0 2.0 2.0]
  digits→digits-m target-only seed 8: target_acc 1.000, confusion 0.950  [40 s, load 2.0 2.0 2.0]
  synth-digits→digits-m twin seed 7: target_acc 0.500, confusion 0.800  [50 s, load 2.0 2.0 2.0]
"""


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import domain_adaptation

    return domain_adaptation


def test_a_logs_per_seed_lines_are_read_back_as_the_rows_they_printed(bench):
    results = bench.results_from_log(LOG)
    assert results[("digits", "digits-m", "dann")] == {7: {"target_acc": 0.4, "domain_confusion_acc": 0.7},
                                                       8: {"target_acc": 0.6, "domain_confusion_acc": 0.8}}
    assert set(results[("synth-digits", "digits-m", "twin")]) == {7}


def test_the_table_from_a_log_is_the_per_seed_gap_closed_and_confusion_drop(bench):
    lines = bench.report(bench.results_from_log(LOG), {}, [("digits", "digits-m")], (7, 8))
    dann = next(line for line in lines if "method=dann" in line)
    assert "gap_closed_pct=37.5 " in dann and "seeds=2" in dann  # (25% + 50%) / 2
    drop = next(line for line in lines if "contrast=confusion_twin_minus_dann" in line)
    assert "mean=0.1500 " in drop


def test_a_log_without_every_seed_of_a_pair_is_refused_with_what_to_pass(bench, tmp_path, monkeypatch, capsys):
    log = tmp_path / "stopped.log"
    log.write_text(LOG)
    monkeypatch.setattr("sys.argv", ["domain_adaptation.py", "--from-log", str(log), "--seeds", "7,8"])
    with pytest.raises(SystemExit) as ended:
        bench.main()
    assert ended.value.code == 2
    assert "synth-digits→digits-m" in capsys.readouterr().err
