"""Planning many sites with one read of the configuration (issue 10).

``plan_install`` reads the whole configuration for one site; for hundreds of
sites that would read it hundreds of times. Here it is read once, every site's
blocks are chosen, and each file is edited once with the edits of all sites
it holds (bottom-up, so earlier blocks keep their lines). A site whose edit
fails is left out and reported; the plan is then made again without it, so
no half of a failed site's edits remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from origincert.errors import WebServerError
from origincert.webserver.base import CertFiles, Endpoint, FileChange, InstallPlan, Site
from origincert.webserver.nginx.config import Block, group_sites
from origincert.webserver.nginx.edit import install_block
from origincert.webserver.nginx.text import decode, encode, find_block, parse_text

if TYPE_CHECKING:
    from origincert.webserver.nginx.server import Nginx

Request = tuple[Site, CertFiles, str]  # the site, its files, its lineage


def plan_many(nginx: Nginx, requests: Sequence[Request], *, redirect: bool,
              replace: bool) -> tuple[InstallPlan, dict[str, WebServerError]]:
    """One plan for every site that can be planned, and why the others cannot."""
    from origincert.webserver.nginx.server import choose_blocks, render_include

    groups = _Index(group_sites(nginx._blocks()))
    failed: dict[str, WebServerError] = {}
    for _ in range(3):  # a failure found late means planning again without that site
        plan, edits = InstallPlan(), []
        for site, files, lineage in requests:
            if site.name in failed:
                continue
            try:
                include = nginx.include_path(lineage)
                chosen = choose_blocks(groups.blocks_of(site))
            except WebServerError as err:
                failed[site.name] = err
                continue
            plan.changes.append(_include_change(include, render_include(lineage, files)))
            edits += [(block, str(include), site.name) for block in chosen]
        newly = _edit(plan, edits, redirect=redirect, replace=replace)
        if not newly:
            return plan, failed
        failed.update(newly)
    return plan, failed


def endpoints_many(nginx: Nginx, sites: Sequence[Site]) -> dict[str, list[Endpoint]]:
    """Each site's local TLS endpoints, from one read of the configuration."""
    from origincert.webserver.nginx.server import endpoints_of

    groups = _Index(group_sites(nginx._blocks()))
    found = {}
    for site in sites:
        try:
            listens = [lst for block in groups.blocks_of(site) for lst in block.listens]
        except WebServerError:
            listens = list(site.listens)
        found[site.name] = endpoints_of(listens, nginx.port_map)
    return found


class _Index:
    """The sites' blocks by hostname, so that finding a site's blocks is one lookup."""

    def __init__(self, groups: list[tuple[Site, list[Block]]]) -> None:
        self.by_name = {name: blocks for site, blocks in groups for name in site.hostnames}

    def blocks_of(self, site: Site) -> list[Block]:
        for name in site.hostnames:
            if name in self.by_name:
                return self.by_name[name]
        raise WebServerError(f"no nginx server block serves {site.name} any more",
                             hint="the configuration changed since it was read; run again")


def _include_change(include: Path, text: str) -> FileChange:
    content = encode(text)
    current = include.read_bytes() if include.exists() else None
    return FileChange(include, current, content, mode=0o644)


def _edit(plan: InstallPlan, edits: list[tuple[Block, str, str]], *, redirect: bool,
          replace: bool) -> dict[str, WebServerError]:
    """Edit each file once; the sites whose edit failed, by name."""
    failed: dict[str, WebServerError] = {}
    for path in dict.fromkeys(block.file for block, _, _ in edits):
        before = path.read_bytes()
        text = decode(before)
        mine = sorted((e for e in edits if e[0].file == path), key=lambda e: -e[0].line)
        for block, include, name in mine:
            node = find_block(parse_text(text), "server", block.line)
            try:
                if node is None:
                    raise WebServerError(f"{block.where}: server block not found")
                result = install_block(text, node, block, include=include,
                                       redirect=redirect, replace=replace)
            except WebServerError as err:
                failed[name] = err
                continue
            text = result.text
            plan.notes.extend(result.notes)
        if encode(text) != before:
            plan.changes.append(FileChange(path, before, encode(text)))
    plan.changes = [c for c in plan.changes if c.before != c.after]
    return failed
