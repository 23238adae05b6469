"""The report as a person reads it: one table per hostname, the worst first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from origincert.doctor.findings import ERROR, INFO, WARNING, Report

_STYLE = {ERROR: "bold red", WARNING: "yellow", INFO: "cyan", "ok": "green"}


def show(report: Report, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=False)
    if report.before is not None:
        _fixes(report, console)
    for hostname, zone, found in report.groups():
        worst = report.worst(hostname)
        title = Text(hostname, style="bold")
        title.append(f"  {worst.upper() if worst != 'ok' else 'OK'}", style=_STYLE[worst])
        if zone and zone != hostname:
            title.append(f"  (zone {zone})", style="dim")
        console.print(title)
        if not found:
            continue
        table = Table(show_header=False, box=None, padding=(0, 1), expand=False)
        table.add_column(width=8)
        table.add_column(min_width=20, no_wrap=True)
        table.add_column(ratio=1)
        for item in found:
            table.add_row(Text(item.severity, style=_STYLE[item.severity]), item.id,
                          _details(item))
        console.print(table)
    counts = report.counts()
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
    verdict = "healthy" if report.healthy else "problems found"
    console.print(Text(f"{verdict}: {summary}", style=_STYLE["ok" if report.healthy else ERROR]))


def _details(item) -> Text:  # type: ignore[no-untyped-def]
    text = Text(item.title, style="bold")
    if item.case:
        text.append(f"  [{item.case}]", style="dim")
    for line in item.evidence:
        text.append(f"\n  seen: {line}")
    text.append(f"\n  why: {item.explanation}", style="dim")
    how = "--fix can do this" if item.fix.automatic else "fix"
    text.append(f"\n  {how}: {item.fix.text}", style="green" if item.fix.automatic else "")
    if item.fix.command:
        text.append(f"\n  run: {item.fix.command}")
    return text


def _fixes(report: Report, console: Console) -> None:
    before = report.before.counts() if report.before else {}
    console.print(Text(f"before --fix: {before.get(ERROR, 0)} errors, "
                       f"{before.get(WARNING, 0)} warnings", style="bold"))
    if not report.fixes:
        console.print("  nothing that --fix can apply")
    for fixed in report.fixes:
        mark = "applied" if fixed.applied else "not applied"
        console.print(Text(f"  {mark}: {fixed.id} ({fixed.hostname})",
                           style="green" if fixed.applied else "yellow"))
        for change in fixed.changes:
            console.print(f"    {change}")
        if fixed.error:
            console.print(f"    {fixed.error}")
    console.print(Text("checked again after the fixes:", style="bold"))
