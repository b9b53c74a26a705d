"""`citycam probe`: run the probe agent (services/probe) in its own process.

The agent runs in a process of its own, as it does at the edge: this command only sets the agent's
CITYCAM_PROBE_* variables from its options and hands over to `python -m services.probe`.
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer


def probe(
    once: Annotated[bool, typer.Option("--once", help="Check every camera once, print a table, exit")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="With --once: read each stream too")] = False,
    report: Annotated[bool, typer.Option("--report", help="With --once: send the heartbeats too")] = False,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="The agent's gateway device token (a file holding it)")
    ] = None,
    credentials: Annotated[
        Path | None, typer.Option("--credentials", help="The agency's TOML file of camera credentials")
    ] = None,
    registry_url: Annotated[str | None, typer.Option(help="Where the registry is")] = None,
    ingest_url: Annotated[str | None, typer.Option(help="Where ingest is")] = None,
    targets_file: Annotated[
        Path | None, typer.Option("--targets-file", help="Cameras from a JSON file instead of the registry")
    ] = None,
) -> None:
    """Check the cameras behind this agent's gateway (RTSP, ONVIF, stream) and report them to ingest."""
    for name, value in (
        ("GATEWAY_TOKEN_FILE", token_file),
        ("CREDENTIALS_FILE", credentials),
        ("REGISTRY_URL", registry_url),
        ("INGEST_URL", ingest_url),
        ("TARGETS_FILE", targets_file),
    ):
        if value is not None:
            os.environ[f"CITYCAM_PROBE_{name}"] = str(value)
    args = [sys.executable, "-m", "services.probe"]
    args += [flag for flag, on in (("--once", once), ("--stream", stream), ("--report", report)) if on]
    # exec, so signals (a container's SIGTERM) reach the agent itself and its exit code is ours.
    os.execv(sys.executable, args)  # noqa: S606 - our own interpreter and module
