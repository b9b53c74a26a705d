"""`--once`: every camera checked once, now, and a table for the technician on site."""

from rich.console import Console
from rich.table import Table

from services.probe.scheduler import Camera


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def results_table(cameras: list[Camera]) -> Table:
    """One row per camera: result, what the stream says, how it was reached."""
    table = Table(title=f"{len(cameras)} cameras", show_lines=False)
    for name, justify in (
        ("camera", "left"),
        ("address", "left"),
        ("result", "left"),
        ("status", "right"),
        ("auth", "left"),
        ("codec", "left"),
        ("resolution", "left"),
        ("fps", "right"),
        ("ms", "right"),
        ("skew s", "right"),
        ("onvif", "left"),
        ("stream", "left"),
        ("detail", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for camera in sorted(cameras, key=lambda c: (c.rtsp is None or c.rtsp.alive, c.target.code)):
        rtsp = camera.rtsp
        result = rtsp.result if rtsp else "not checked"
        colour = "green" if result == "ok" else "red" if result in ("no_answer", "not checked") else "yellow"
        video = rtsp.video if rtsp else None
        onvif = camera.onvif
        onvif_text = "" if onvif is None else "ok" if onvif.reachable else "unreachable"
        if onvif is not None and onvif.clock_skew_s is not None:
            onvif_text += f" {onvif.clock_skew_s:+.0f} s"
        sample = camera.stream.last
        stream_text = ""
        if sample is not None:
            stream_text = f"{sample.fps or 0:g} fps {sample.bitrate_kbps:g} kbit/s"
        if camera.stream.history.flagged:
            stream_text += f" {camera.stream.history.flagged.value}"
        table.add_row(
            camera.target.code,
            f"{camera.address.host}:{camera.address.port}" if camera.address else "",
            f"[{colour}]{result}[/]",
            str(rtsp.status) if rtsp and rtsp.status else "",
            rtsp.scheme or "" if rtsp else "",
            video.codec or "" if video else "",
            video.resolution or "" if video else "",
            _fmt(video.fps if video else None, "g"),
            _fmt(rtsp.latency_ms if rtsp else None, ".0f"),
            _fmt(rtsp.clock_skew_s if rtsp else None, "+.0f"),
            onvif_text.strip(),
            stream_text.strip(),
            (rtsp.detail if rtsp else "")[:60],
        )
    return table


def print_results(cameras: list[Camera], console: Console | None = None) -> None:
    """Print the table and a one-line summary."""
    console = console or Console()
    console.print(results_table(cameras))
    alive = sum(1 for c in cameras if c.rtsp is not None and c.rtsp.alive)
    clean = sum(1 for c in cameras if c.last_heartbeat is not None and not c.last_heartbeat.errors)
    console.print(f"{alive} of {len(cameras)} answered, {clean} without errors")
