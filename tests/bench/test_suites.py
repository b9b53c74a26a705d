"""The bench's reading of health's /metrics."""

from bench.suites import evaluator_passes

METRICS = """# HELP citycam_health_evaluation_seconds Duration of one evaluator pass
citycam_health_evaluation_seconds_bucket{le="0.05",pass="incremental"} 9.0
citycam_health_evaluation_seconds_count{pass="incremental"} 12.0
citycam_health_evaluation_seconds_sum{pass="incremental"} 0.78
citycam_health_evaluation_seconds_count{pass="full"} 2.0
citycam_health_evaluation_seconds_sum{pass="full"} 0.5
"""


def test_evaluator_passes_sums_only_the_kind_asked_for() -> None:
    assert (evaluator_passes(METRICS, "incremental"), evaluator_passes(METRICS, "full")) == ((0.78, 12.0), (0.5, 2.0))


def test_evaluator_passes_is_none_when_health_has_no_such_passes() -> None:
    assert evaluator_passes("process_cpu_seconds_total 3.0\n", "incremental") is None
