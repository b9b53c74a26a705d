"""The probe bench's reading of the agent's /metrics."""

from pathlib import Path

from bench.probe import _errors, lag_p99, server_503s

BEFORE = {
    'citycam_probe_cycle_lag_seconds_bucket{le="0.5"}': 10.0,
    'citycam_probe_cycle_lag_seconds_bucket{le="1.0"}': 10.0,
    'citycam_probe_cycle_lag_seconds_bucket{le="+Inf"}': 10.0,
    'citycam_probe_probes_total{result="ok",tier="rtsp"}': 10.0,
}


def test_lag_p99_is_the_bucket_holding_99_percent_of_the_window() -> None:
    after = {
        'citycam_probe_cycle_lag_seconds_bucket{le="0.5"}': 1000.0,
        'citycam_probe_cycle_lag_seconds_bucket{le="1.0"}': 1005.0,
        'citycam_probe_cycle_lag_seconds_bucket{le="+Inf"}': 1010.0,
    }
    assert lag_p99(BEFORE, after) == (0.5, 1000)


def test_errors_are_every_rtsp_result_but_ok_and_skipped_checks() -> None:
    after = {
        'citycam_probe_probes_total{result="ok",tier="rtsp"}': 500.0,
        'citycam_probe_probes_total{result="rtsp_busy",tier="rtsp"}': 2.0,
        'citycam_probe_probes_total{result="failed",tier="stream"}': 1.0,
        'citycam_probe_skipped_total{tier="rtsp"}': 3.0,
    }
    assert _errors(BEFORE, after) == {"rtsp_busy": 2.0, "skipped": 3.0}


def test_the_servers_own_503s_are_counted_from_their_logs(tmp_path: Path) -> None:
    (tmp_path / "gst-1.log").write_bytes(
        b"0:00:01.0 ERROR rtspclient find_media: client 0x1: can't prepare media\n"
        b"0:00:01.1 ERROR rtspclient find_media: client 0x2: not authorized to see factory path /moving\n"
    )
    (tmp_path / "gst-2.log").write_bytes(b"0:00:02.0 ERROR rtspclient find_media: client 0x3: can't create thread\n")
    (tmp_path / "agent.log").write_bytes(b"can't prepare media\n")  # not a server's log
    assert server_503s(tmp_path) == 2
