"""One row of the results table: a figure, its target, and whether it was met (or why it was not measured)."""

from dataclasses import dataclass


@dataclass
class Row:
    key: str
    issue: str
    name: str
    target: str
    figure: str = ""
    verdict: str = "not measured"  # "met", "MISSED" or "not measured"
    detail: str = ""

    def measured(self, figure: str, ok: bool, detail: str = "") -> "Row":
        """Record a figure and whether it meets the target."""
        self.figure = figure
        self.verdict = "met" if ok else "MISSED"
        self.detail = detail
        return self

    def skipped(self, reason: str) -> "Row":
        """Record why there is no figure."""
        self.figure = f"not measured: {reason}"
        self.verdict = "not measured"
        return self


def all_rows() -> list[Row]:
    """Every benchmark named in issues 3, 4, 5 and 16, in report order."""
    return [
        Row("ingest.single", "#4 ingest", "single heartbeats vs no-op (req/s, 256 conns)", "≥ 2.0×"),
        Row("ingest.p99", "#4 ingest", "p99 at 2,000 heartbeats/s offered (open loop)", "≤ 50 ms"),
        Row("ingest.batch", "#4 ingest", "batch rows/s vs raw asyncpg upsert", "≥ 50%"),
        Row("ingest.burst", "#4 ingest", "burst: 10,000 distinct cameras in 1 s", "0 errors, all 202 ≤ 10 s"),
        Row("health.summary", "#5 health", "summary p99", "≤ 20 ms"),
        Row("health.groups", "#5 health", "groups by district p99", "≤ 50 ms"),
        Row("health.offline", "#5 health", "offline list, first page p99", "≤ 50 ms"),
        Row("health.evaluator", "#5 health", "one evaluator pass over all cameras", "≤ 500 ms"),
        Row("registry.filter", "#3 registry", "one filter (district) p99", "≤ 30 ms"),
        Row("registry.search", "#3 registry", "accent-insensitive search p99", "≤ 50 ms"),
        Row("registry.bbox", "#3 registry", "bbox p99", "≤ 30 ms"),
        Row("registry.code", "#3 registry", "get by code p99", "≤ 10 ms"),
        Row("registry.import", "#3 registry", "import 10,000 CSV rows", "≤ 10 s"),
        Row("probe.cpu", "#16 probe", "agent CPU, 10,000 cameras at 30 s (333/s, half Digest)", "≤ 0.3 core"),
        Row("probe.errors", "#16 probe", "probe errors in that run (and cameras heard late)", "0"),
        Row("probe.lag", "#16 probe", "cycle lag p99 in that run", "≤ 1 s"),
        Row(
            "probe.dark",
            "#16 probe",
            "20% silent (3 s limit), 10% refusing: every answering camera on time",
            "gap ≤ interval + 2 s, lag p99 ≤ 1 s",
        ),
    ]
