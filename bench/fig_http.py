"""Figure 4: HTTP on loopback with wrk — the form page GET and the submission POST, portal vs bare.

uvicorn serves each app with 1 and 2 worker processes, on httptools + uvloop and on h11. The
portal's POST is the JSON API's submission (parse, validate, route, insert, audit: one
transaction) of a service that needs no uploads at submission; the bare endpoint parses the same
JSON and inserts it. The GET is a citizen's form page (the largest section of that service)
against a bare endpoint rendering the same fields through a per-service unrolled template.
Everything listens on 127.0.0.1 only; wrk runs a fixed time with a fixed number of connections,
on the same two cores as the server (so absolute req/s are a lower bound; ratios are the point).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.fig_render import _unrolled_source, _views
from bench.harness import Row, Section
from bench.inputs import json_submissions
from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.run.db import make_engine
from engine.run.files import FolderStore
from engine.run.settings import load_settings
from engine.run.web.app import Portal

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pick(services: list[Service]) -> tuple[Service, list[dict[str, Any]]]:
    """The largest service with enough valid answers that route somewhere (validated against today)."""
    for service in sorted(services, key=lambda s: (-len(s.fields), s.id)):
        answers = json_submissions(service, 20, dt.date.today())  # the portal validates against today
        usable = [a for a in answers if service.route(a) is not None and not service.validate(a).errors]
        if len(usable) >= 5:
            return service, usable
    raise RuntimeError("no service has routable answers")


def _project_without_uploads(scratch: Path, service: Service) -> Path:
    """A copy of the catalog where `service` asks for no documents.

    The JSON API takes no files and every catalog service requires some at submission, so the
    API would refuse every POST with documents_missing; the copy keeps everything else identical
    (fields, rules, routing, workflow), which is what the POST measures.
    """
    project = scratch / "http-project"
    for folder in ("service_defs", "workflows"):
        shutil.copytree(REPO / folder, project / folder, dirs_exist_ok=True)
    path = project / service.source
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    data.pop("documents", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return project


class Server:
    def __init__(self, factory: str, workers: int, http: str, env: dict[str, str]) -> None:
        self.port = _free_port()
        loop = "uvloop" if http == "httptools" else "asyncio"
        command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers), "--http", http, "--loop", loop,
                   "--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=2).status_code < 500:
                    time.sleep(0.5 * workers)  # let every worker finish starting
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode() if self.process.stderr else "server died")
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)  # the group we started: uvicorn and its workers
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def _wrk(
    url: str, seconds: int, connections: int, headers: dict[str, str], body: str | None, scratch: Path
) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    if body is not None:
        script = scratch / "post.lua"
        # A Lua long string: the body goes in byte for byte (Lua has no \u escapes in strings).
        script.write_text(f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\n', encoding="utf-8")
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60).stdout

    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        return float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": latency("50"), "p99": latency("99"),
            "errors": float(non2xx.group(1)) if non2xx else 0.0, "total": float(total.group(1)) if total else 0.0}


def _login(url: str, service: Service) -> tuple[dict[str, str], int]:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        token = client.get("/api/session").json()["csrf_token"]
        client.post("/login", data={"csrf": token, "register_number": "УБ90010112", "name": "Bench", "next": "/"})
        token = client.get("/api/session").json()["csrf_token"]  # signing in starts a new session
        started = client.post(f"/services/{service.id}/start", data={"csrf": token})
        draft = int(started.headers["location"].split("/")[2])
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return {"Cookie": cookie, "x-csrf-token": token}, draft


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("4", "HTTP on loopback (wrk)")
    if shutil.which("wrk") is None:
        section.text.append("wrk is not installed (apt-get install wrk): figure skipped.")
        return section
    catalog = load_catalog(["service_defs"])
    service, answers = _pick(list(catalog.services.values()))
    index = max(range(len(service.sections)), key=lambda i: len(service.sections[i].fields))
    data = scratch / "http-data"
    project = _project_without_uploads(scratch, service)
    portal_env = {"TSONKH_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data / 'portal.db'}",
                  "TSONKH_CATALOG": str(project / "service_defs"), "PYTHONPATH": str(REPO)}
    settings = load_settings({"TSONKH_DATA_DIR": str(scratch / "http-views")})
    views = _views(Portal(settings, catalog, make_engine("sqlite://"), FolderStore(scratch / "u")), service, index,
                   answers[0], [])
    plain = [{"errors": v.errors, "value": v.value if isinstance(v.value, str | int | float | type(None)) else "",
              "parts": [], "rows": []} for v in views]
    bare_env = {"BENCH_BARE_DB": str(scratch / "bare.db"), "BENCH_BARE_TEMPLATE": _unrolled_source(views),
                "BENCH_BARE_VIEWS": json.dumps(plain, ensure_ascii=False), "PYTHONPATH": str(REPO)}
    body = json.dumps({"answers": answers[0]}, ensure_ascii=False)
    seconds = 3 if quick else 10
    connections = 16
    configs = [("httptools", 1)] if quick else [("httptools", 1), ("httptools", 2), ("h11", 1), ("h11", 2)]
    for http, workers in configs:
        label = f"{http}, {workers} process{'es' if workers > 1 else ''}"
        portal = Server("bench.http_apps:portal", workers, http, portal_env)
        try:
            headers, draft = _login(portal.url, service)
            get = _wrk(f"{portal.url}/apply/{draft}/{index}", seconds, connections, headers, None, scratch)
            post = _wrk(f"{portal.url}/api/services/{service.id}/applications", seconds, connections,
                        {**headers, "Content-Type": "application/json"}, body, scratch)
        finally:
            portal.stop()
        bare = Server("bench.http_apps:bare", workers, http, bare_env)
        try:
            bare_get = _wrk(f"{bare.url}/bare-form", seconds, connections, {}, None, scratch)
            bare_post = _wrk(f"{bare.url}/bare/{service.id}", seconds, connections,
                             {"Content-Type": "application/json"}, body, scratch)
        finally:
            bare.stop()
        for name, result, base, target in (
            (f"bare POST (parse + insert), {label}", bare_post, None, None),
            (f"portal POST submission (parse, validate, route, insert, audit), {label}", post,
             f"bare POST (parse + insert), {label}", "≥ 0.8×"),
            (f"bare GET (unrolled template), {label}", bare_get, None, None),
            (f"portal GET form page, {label}", get, f"bare GET (unrolled template), {label}", "≥ 0.8×"),
        ):
            note = f"p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms; {result['total']:.0f} requests"
            if result["errors"]:
                note += f", **{result['errors']:.0f} non-2xx/3xx**"
            section.rows.append(Row("4", name, "req/s", result["rps"], result["rps"], result["rps"], 1,
                                    baseline=base, target=target, note=note, extra=result))
    section.text.append(
        f"{service.id} ({len(service.fields)} fields), section {index + 1} for the GET; {connections} connections, "
        f"{seconds} s per run, one wrk thread; the spread column repeats the mean (wrk reports one rate per run); "
        "latency percentiles are wrk's. SQLite database (the portal's default); each POST creates a new application."
    )
    facts["http"] = "uvicorn " + subprocess.run([sys.executable, "-m", "uvicorn", "--version"], capture_output=True,
                                                text=True).stdout.strip()
    return section
