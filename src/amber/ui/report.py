"""``amber report ENV|LOCK -o report.html``: the dashboard's env page as one HTML file, its
script, style and data inlined, loading nothing (its Content-Security-Policy allows no
network), to attach to a pull request, a CI run or an approval ticket."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from amber import api
from amber._fs import write_atomic
from amber.api import views
from amber.api.runs import list_runs
from amber.api.session import Session
from amber.store.env import Env
from amber.ui.data import env_page
from amber.ui.server import asset

__all__ = ["render_report", "write_report", "REPORT_CSP"]

REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _inline_json(value: Any) -> str:
    """JSON safe inside ``<script>``: no ``<`` (so no ``</script>`` nor ``<!--``)."""
    return json.dumps(value, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")


def render_report(ref: str, session: Session, osv: str | None = None) -> str:
    """The report's HTML for ``ref``: a lock file, or an env (full_id, prefix, NAME[:TAG])."""
    lock = api.lock_of(ref, session=session)
    env = Env(lock.full_id, session.store.env_path(lock.full_id))
    here = env if env.is_complete() else None
    if not os.path.isfile(ref):
        found = api.find_env(ref, session=session)
        here = found if found.full_id == lock.full_id else here
    data = env_page(lock, session, osv, here)
    found_runs = list_runs(session=session)
    data["runs"] = [
        views.run_record(r, r.run_id in found_runs.remote)
        for r in found_runs.records
        if any(s.full_id == lock.full_id for s in r.steps)
    ]
    data["tags"] = [
        f"{n}:{t}" for n, t, full_id, _ in session.store.tags() if full_id == lock.full_id
    ]
    data["report"] = {"ref": ref, "made": time.time(), "advisories": data["audit"]["osv"]}
    html = asset("index.html")
    html = html.replace(
        '<link rel="stylesheet" href="/assets/app.css">', f"<style>{asset('app.css')}</style>"
    )
    script = asset("app.js").replace("</", "<\\/")
    html = html.replace(
        '<script src="/assets/app.js"></script>',
        f'<script id="amber-report" type="application/json">{_inline_json(data)}</script>\n'
        f"<script>{script}</script>",
    )
    return html.replace(
        "<head>",
        f'<head>\n<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">',
        1,
    )


def write_report(ref: str, output: Path, session: Session, osv: str | None = None) -> Path:
    """Write the report of ``ref`` to ``output`` atomically (nothing half-written)."""
    write_atomic(output, render_report(ref, session, osv))
    return output
