"""`citycam cameras import FILE` and `export FILE`: a field team's spreadsheet loop over the registry API.

Import reads the sheet (sheets.py: encoding, separator), uploads it in chunks to
`POST /v1/cameras/import?issue_tokens=true` with a progress bar, writes each created camera's device
token to a 0600 file (shown once by the API, so never overwritten), the rejected rows with their reason
to a CSV the team can fix and import again, and prints a summary. Export streams the export to a file
with a byte-order mark, so Excel shows the accents.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from citycam.cli.common import console, progress_bar, read_api_key, summary_table
from citycam.cli.sheets import ENCODINGS, SheetError, chunk_body, read_sheet, sample_text, write_rejects
from citycam.simulator.settings import get_simulator_settings

app = typer.Typer(no_args_is_help=True)

CHUNK_ROWS = 500
TIMEOUT_S = 300.0
RegistryOption = Annotated[
    str | None, typer.Option(help="Registry base URL (default: CITYCAM_SIM_REGISTRY_URL, else the local stack)")
]
KeyOption = Annotated[str | None, typer.Option(help="An admin or field key (default: .data/admin.key)")]


@dataclass
class Tally:
    """What the registry answered, summed over the chunks."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[tuple[list[str], str]] = field(default_factory=list)
    flagged: list[tuple[int, str, str]] = field(default_factory=list)
    tokens: list[tuple[str, str, str]] = field(default_factory=list)


def _reason(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e.get('loc') or []) or 'row'}: {e.get('msg')}" for e in errors)


def _client(registry_url: str | None, api_key: str | None) -> httpx.Client:
    url = registry_url or get_simulator_settings().urls()[0]
    key = read_api_key(api_key)
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=TIMEOUT_S)


def _refused(response: httpx.Response) -> typer.Exit:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text[:300]
    console.print(f"[red]the registry refused the file: HTTP {response.status_code}: {detail}[/]")
    return typer.Exit(1)


def _write_tokens(path: Path, tokens: list[tuple[str, str, str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write("code,id,device_token\n")
        fh.writelines(f"{code},{camera_id},{token}\n" for code, camera_id, token in tokens)


def upload(
    client: httpx.Client, raw: bytes, *, encoding: str, dry_run: bool, issue_tokens: bool
) -> tuple[Tally, list[str]]:
    """The sheet in chunks to the import, with a progress bar; what it did, and the sheet's header."""
    try:
        sheet = read_sheet(raw, encoding)
    except SheetError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    for note in sheet.notes:
        console.print(f"[yellow]{note}[/]")
    if any(n.startswith("converted") for n in sheet.notes):
        console.print(f"[yellow]  check the text reads right: {sample_text(sheet)!r} (else pass --encoding)[/]")
    tally = Tally()
    params = {"dry_run": str(dry_run).lower(), "issue_tokens": str(issue_tokens).lower()}
    with progress_bar() as progress:
        task = progress.add_task("dry run" if dry_run else "importing", total=len(sheet.rows))
        for start in range(0, len(sheet.rows), CHUNK_ROWS):
            rows = sheet.rows[start : start + CHUNK_ROWS]
            body, starts = chunk_body(sheet.header, rows)
            response = client.post(
                "/v1/cameras/import", params=params, content=body, headers={"content-type": "text/csv; charset=utf-8"}
            )
            if response.status_code != 200:
                raise _refused(response)
            result = response.json()
            # The reply's lines are the chunk's: back to the row, and to the line of the file.
            row_at = {line: start + i for i, line in enumerate(starts)}
            tally.created += result["created"]
            tally.updated += result["updated"]
            tally.unchanged += result["unchanged"]
            for rejected in result["rejected"]:
                index = row_at.get(rejected["line"])
                cells = sheet.rows[index] if index is not None else []
                line = sheet.lines[index] if index is not None else 0
                tally.rejects.append((cells, f"line {line}: {_reason(rejected['errors'])}"))
            for flagged in result.get("flagged") or []:
                index = row_at[flagged["line"]]
                tally.flagged.append((sheet.lines[index], flagged["code"], _reason(flagged["warnings"])))
            tally.tokens += [(t["code"], t["id"], t["device_token"]) for t in result.get("device_tokens") or []]
            progress.advance(task, len(rows))
    return tally, sheet.header


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV from a spreadsheet")],
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing")] = False,
    issue_tokens: Annotated[bool, typer.Option(help="Issue a device token for each created camera")] = True,
    encoding: Annotated[str, typer.Option(help=f"One of {', '.join(ENCODINGS)}")] = "auto",
    rejects: Annotated[Path | None, typer.Option(help="Where rejected rows go (default FILE.rejected.csv)")] = None,
    tokens: Annotated[Path | None, typer.Option(help="Where device tokens go (default FILE.tokens.csv)")] = None,
    registry_url: RegistryOption = None,
    api_key: KeyOption = None,
) -> None:
    """Register or update cameras from a spreadsheet's CSV; rejected rows are written back with their reason."""
    if encoding not in ENCODINGS:
        console.print(f"[red]--encoding must be one of {', '.join(ENCODINGS)}[/]")
        raise typer.Exit(2)
    rejects_path = rejects or file.with_name(f"{file.stem}.rejected.csv")
    tokens_path = tokens or file.with_name(f"{file.stem}.tokens.csv")
    issue_tokens = issue_tokens and not dry_run
    if issue_tokens and tokens_path.exists():
        # Tokens are shown once: a file of them from an earlier import is never overwritten.
        console.print(f"[red]{tokens_path} exists (device tokens from an earlier import?): move it or pass --tokens[/]")
        raise typer.Exit(2)
    try:
        with _client(registry_url, api_key) as client:
            tally, header = upload(
                client, file.read_bytes(), encoding=encoding, dry_run=dry_run, issue_tokens=issue_tokens
            )
    except httpx.TransportError as exc:
        console.print(f"[red]cannot reach the registry ({type(exc).__name__}): is `citycam up` running?[/]")
        raise typer.Exit(1) from None
    if tally.tokens:
        _write_tokens(tokens_path, tally.tokens)
    if tally.rejects:
        write_rejects(rejects_path, header, tally.rejects)
    elif rejects_path.exists() and not dry_run:
        rejects_path.unlink()  # a rejected-rows file from an earlier run no longer says anything true
    title = f"{'dry run of ' if dry_run else ''}{file.name}"
    rows = [
        ("created", tally.created),
        ("updated", tally.updated),
        ("unchanged", tally.unchanged),
        ("rejected", len(tally.rejects)),
        ("flagged (written, with warnings)", len(tally.flagged)),
        ("device tokens issued", len(tally.tokens)),
    ]
    console.print(summary_table(title, rows))
    if tally.flagged:
        flagged = Table(title="flagged rows (first 20)")
        for column in ("line", "code", "warning"):
            flagged.add_column(column)
        for line, code, why in tally.flagged[:20]:
            flagged.add_row(str(line), code, why)
        console.print(flagged)
    if tally.tokens:
        console.print(f"device tokens written to {tokens_path} (mode 0600; the registry shows them only once)")
    if tally.rejects:
        console.print(f"[yellow]rejected rows written to {rejects_path}: fix them there and import that file[/]")
        raise typer.Exit(1)


@app.command()
def export(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The CSV file to write")],
    where: Annotated[
        list[str] | None, typer.Option(help="A list filter as NAME=VALUE, e.g. district=BTH (repeatable)")
    ] = None,
    bom: Annotated[bool, typer.Option(help="Start with a UTF-8 byte-order mark (Excel then shows the accents)")] = True,
    registry_url: RegistryOption = None,
    api_key: KeyOption = None,
) -> None:
    """Write the cameras (the list's filters apply) to a CSV file that `cameras import` reads back."""
    params: list[tuple[str, str]] = []
    for item in where or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            console.print(f"[red]--where takes NAME=VALUE, not {item!r}[/]")
            raise typer.Exit(2)
        params.append((name.strip(), value))
    rows = 0
    partial = file.with_name(file.name + ".part")
    try:
        with _client(registry_url, api_key) as client, progress_bar() as progress:
            task = progress.add_task("exporting", total=None)
            with client.stream("GET", "/v1/cameras/export", params=tuple(params)) as response:
                if response.status_code != 200:
                    response.read()
                    raise _refused(response)
                with partial.open("wb") as fh:
                    if bom:
                        fh.write("\ufeff".encode())
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
                        rows += chunk.count(b"\n")
                        progress.update(task, completed=max(rows - 1, 0))
    except httpx.TransportError as exc:
        partial.unlink(missing_ok=True)
        console.print(f"[red]cannot reach the registry ({type(exc).__name__}): is `citycam up` running?[/]")
        raise typer.Exit(1) from None
    partial.replace(file)
    # Lines, not rows: a quoted cell with a line break counts twice; the count is the progress, not a check.
    console.print(f"exported to {file} ({max(rows - 1, 0):,} lines after the header)")
