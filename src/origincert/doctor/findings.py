"""What doctor found: findings, their fixes, and the report they make.

JSON shape (stable; ``origincert doctor --json`` prints one REPORT)::

    REPORT = {
      "healthy": bool,                 # no error and no warning
      "exit_status": 0 | 1,            # 1 when any error or warning remains
      "counts": {"error": int, "warning": int, "info": int},
      "hostnames": [HOST, ...],        # worst first, then by name
      "findings": [FINDING, ...],      # every finding, worst first, then by hostname
      "fixes": [FIXED, ...],           # only with --fix: what was applied
      "before": {"counts": ..., "findings": [...]},   # only with --fix: the first check
    }
    HOST = {"hostname": str, "zone": str | null, "site": str | null,
            "worst": "error" | "warning" | "info" | "ok", "findings": int}
    FINDING = {
      "id": str,                       # stable check id, e.g. "edge.526"
      "severity": "error" | "warning" | "info",
      "hostname": str,                 # a hostname, a zone's apex, or an origin address
      "zone": str | null,
      "title": str,                    # one line
      "evidence": [str, ...],          # what was seen
      "explanation": str,              # why it matters, in plain words
      "fix": {"text": str, "command": str | null, "automatic": bool},
      "case": str | null,              # the field case it comes from, e.g. "C01"
    }
    FIXED = {"id": str, "hostname": str, "applied": bool, "changes": [str, ...],
             "error": str | null}

Exit status: 0 when nothing is wrong (info findings only), 1 when any error or
warning is found (after ``--fix``: any that remains).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
_RANK = {ERROR: 0, WARNING: 1, INFO: 2, "ok": 3}

# What --fix knows how to apply (Fix.action).
ZONE_FIX = "zone"          # SSL mode, proxying, HTTPS settings: ZoneConfigurator
KEY_MODE_FIX = "key_mode"  # chmod 0600 and root ownership of a key file
REISSUE_FIX = "reissue"    # origincert issue NAMES --reissue, for a site origincert manages


@dataclass(frozen=True)
class Fix:
    text: str
    command: str | None = None
    action: str | None = None          # one of the *_FIX kinds when --fix can apply it
    target: tuple[str, ...] = ()       # what the action works on (names, a path)

    @property
    def automatic(self) -> bool:
        return self.action is not None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "command": self.command, "automatic": self.automatic}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    hostname: str
    title: str
    evidence: tuple[str, ...]
    explanation: str
    fix: Fix
    zone: str | None = None
    case: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.id, self.hostname

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "severity": self.severity, "hostname": self.hostname,
            "zone": self.zone, "title": self.title, "evidence": list(self.evidence),
            "explanation": self.explanation, "fix": self.fix.to_json(), "case": self.case,
        }


def finding(id: str, severity: str, hostname: str, title: str, *, evidence: list[str],
            explanation: str, fix: Fix, zone: str | None = None,
            case: str | None = None) -> Finding:
    """A finding, with lists accepted where the record keeps tuples."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return Finding(id, severity, hostname, title, tuple(evidence), explanation, fix, zone, case)


@dataclass(frozen=True)
class Checked:
    """A name doctor looked at, so that a healthy one shows up too."""

    hostname: str
    zone: str | None
    site: str | None


@dataclass(frozen=True)
class Fixed:
    id: str
    hostname: str
    applied: bool
    changes: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "hostname": self.hostname, "applied": self.applied,
                "changes": list(self.changes), "error": self.error}


@dataclass
class Report:
    checked: list[Checked] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fixes: list[Fixed] = field(default_factory=list)
    before: Report | None = None

    def add(self, found: list[Finding]) -> None:
        seen = {(f.id, f.hostname, f.title) for f in self.findings}
        for item in found:
            if (item.id, item.hostname, item.title) not in seen:
                self.findings.append(item)
                seen.add((item.id, item.hostname, item.title))

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    @property
    def healthy(self) -> bool:
        return not any(f.severity in (ERROR, WARNING) for f in self.findings)

    @property
    def exit_status(self) -> int:
        return 0 if self.healthy else 1

    def ordered(self) -> list[Finding]:
        """Worst first, then by hostname, then by check id."""
        return sorted(self.findings, key=lambda f: (_RANK[f.severity], f.hostname, f.id))

    def worst(self, hostname: str) -> str:
        mine = [f.severity for f in self.findings if f.hostname == hostname]
        return min(mine, key=_RANK.__getitem__) if mine else "ok"

    def groups(self) -> list[tuple[str, str | None, list[Finding]]]:
        """(hostname, zone, findings) for every name with findings or checked, worst first."""
        zones: dict[str, str | None] = {c.hostname: c.zone for c in self.checked}
        for item in self.findings:
            zones.setdefault(item.hostname, item.zone)
        names = sorted(zones, key=lambda h: (_RANK[self.worst(h)], h))
        ordered = self.ordered()
        return [(h, zones[h], [f for f in ordered if f.hostname == h]) for h in names]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "healthy": self.healthy, "exit_status": self.exit_status, "counts": self.counts(),
            "hostnames": self._hostnames(), "findings": [f.to_json() for f in self.ordered()],
        }
        if self.before is not None:
            data["fixes"] = [f.to_json() for f in self.fixes]
            data["before"] = {"counts": self.before.counts(),
                              "findings": [f.to_json() for f in self.before.ordered()]}
        return data

    def _hostnames(self) -> list[dict[str, Any]]:
        sites = {c.hostname: c.site for c in self.checked}
        return [{"hostname": h, "zone": zone, "site": sites.get(h), "worst": self.worst(h),
                 "findings": len(found)} for h, zone, found in self.groups()]
