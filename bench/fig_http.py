"""Figure 4: HTTP on loopback with wrk — the form page GET and the submission POST, portal vs bare.

uvicorn serves each app with 1 and 2 worker processes, on httptools + uvloop and on h11. The
portal's POST is the JSON API's submission (parse, validate, route, insert, audit: one
transaction) of a catalog service as it stands, its required documents carried base64 in the
JSON; the bare endpoint (bench/http_apps.py) parses the same body, decodes and stores the same
documents and inserts the application and its files in one transaction. The GET is a citizen's
form page (the largest section of that service, the draft holding a valid submission's answers)
against a bare endpoint reading the same answers from its database and rendering the same fields
through a per-service unrolled template. Everything listens on 127.0.0.1 only; wrk runs a fixed
time with a fixed number of connections, on the same two cores as the server (so absolute req/s
are a lower bound; ratios are the point). The same requests are then run in-process, layer by
layer (bench/http_layers.py), to show where the portal's CPU goes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
from markupsafe import escape

from bench.fig_render import _views
from bench.harness import Row, Section, spread
from bench.inputs import json_submissions
from engine.catalog import Catalog, load_catalog
from engine.compile.service import Service
from engine.run.db import drafts, make_engine
from engine.run.files import FolderStore
from engine.run.settings import load_settings
from engine.run.web.app import Portal, create_app

REPO = Path(__file__).resolve().parent.parent
# For work on one request: BENCH_HTTP_ONLY=get runs the GET rows only (wrk on httptools, then in-process),
# =layers the in-process GET rows only, =post the POST rows only (wrk on httptools, then in-process layer by
# layer). Unset (the default, and what `make bench` runs): every row.
_ONLY = os.environ.get("BENCH_HTTP_ONLY", "")


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


DOCUMENT_BYTES = 4096  # small scans, so the per-request work around them stays what is measured


def _documents(service: Service, answers: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """One file per document the answers require the citizen to upload, of a type the document accepts.

    Each file is distinct (so the content-addressed stores keep one per document), DOCUMENT_BYTES
    long, and starts with the magic bytes the portal's sniffer reads.
    """
    magic = {"application/pdf": b"%PDF-1.4\n", "image/jpeg": b"\xff\xd8\xff\xe0", "image/png": b"\x89PNG\r\n\x1a\n"}
    out: dict[str, list[dict[str, str]]] = {}
    for doc in service.required_documents(service.validate(answers, dt.date.today()).values):
        if doc.registry is not None:  # the state fetches these; nothing to upload
            continue
        kind = next(k for k in ("application/pdf", "image/jpeg", "image/png") if k in doc.accept)
        head = magic[kind] + doc.id.encode() + b"\n"
        content = head + hashlib.sha256(doc.id.encode()).digest() * (DOCUMENT_BYTES // 32)
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[kind]
        out[doc.id] = [{"name": f"{doc.id}.{extension}",
                        "content_base64": base64.b64encode(content[:DOCUMENT_BYTES]).decode()}]
    return out


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


def _login(url: str, service: Service, database_url: str, answers: dict[str, Any]) -> tuple[dict[str, str], int]:
    """Sign a citizen in and start a draft holding `answers` (what the GET renders, as the bare GET does)."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        token = client.get("/api/session").json()["csrf_token"]
        client.post("/login", data={"csrf": token, "register_number": "УБ90010112", "name": "Bench", "next": "/"})
        token = client.get("/api/session").json()["csrf_token"]  # signing in starts a new session
        started = client.post(f"/services/{service.id}/start", data={"csrf": token})
        draft = int(started.headers["location"].split("/")[2])
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(drafts.update().where(drafts.c.id == draft).values(answers=answers))
    engine.dispose()
    return {"Cookie": cookie, "x-csrf-token": token}, draft


def _unrolled_source(views: list[Any]) -> str:
    """The bare GET's fields: literal markup per field; only the answer and the error messages stay variables.

    (Figure 3 moved to the whole-page baseline of bench/unrolled.py; this is the first round's field
    markup, kept here so the HTTP figure's baseline is unchanged.)"""
    out = []
    for n, fv in enumerate(views):
        label = escape(fv.label)
        hint = f'<div id="{fv.id}-hint" class="hint">{escape(fv.hint)}</div>' if fv.hint else ""
        out.append(f'<div class="field{{% if f[{n}].errors %}} field-error{{% endif %}}" data-field="{fv.name}">')
        out.append(f'<label class="label" for="{fv.id}">{label}</label>{hint}')
        out.append(f'{{% if f[{n}].errors %}}<p id="{fv.id}-error" class="error-message">'
                   f'{{% for e in f[{n}].errors %}}{{{{ e }}}}{{% endfor %}}</p>{{% endif %}}')
        if fv.options:
            for o in fv.options:
                value = escape(o["value"])
                out.append(f'<label><input type="radio" name="{fv.name}" value="{value}"'
                           f'{{% if f[{n}].value == "{value}" %}} checked{{% endif %}}> {escape(o["label"])}</label>')
        elif fv.parts or fv.rows:
            out.append(f'{{% for p in f[{n}].parts %}}<input name="{{{{ p.name }}}}" value="{{{{ p.value or "" }}}}">'
                       f'{{% endfor %}}{{% for r in f[{n}].rows %}}{{% for p in r %}}<input name="{{{{ p.name }}}}" '
                       f'value="{{{{ p.value or "" }}}}">{{% endfor %}}{{% endfor %}}')
        else:
            out.append(f'<input class="input" id="{fv.id}" name="{fv.name}" type="{fv.input_type}" '
                       f'value="{{{{ f[{n}].value if f[{n}].value is not none else "" }}}}">')
        out.append("</div>")
    return "<form method=\"post\">\n" + "\n".join(out) + "\n</form>\n"


def _in_page(page: str, fields: str) -> str:
    """The bare GET's template: the portal's own page around the unrolled fields, as literal text.

    So both GETs send a page of the same size class (layout, navigation and help included), and
    only the fields are rendered per request; the page's text is not Jinja source, hence `raw`."""
    start, end = page.index("<form"), page.index("</form>") + len("</form>")
    return "{% raw %}" + page[:start] + "{% endraw %}" + fields + "{% raw %}" + page[end:] + "{% endraw %}"


def _probe(url: str, headers: dict[str, str], body: str | None, expect: int) -> bytes:
    """One request before wrk: the endpoint answers as expected; returns the response body."""
    if body is None:
        response = httpx.get(url, headers=headers, timeout=30)
    else:
        response = httpx.post(url, headers=headers, content=body.encode(), timeout=30)
    if response.status_code != expect:
        raise RuntimeError(f"{url} answered {response.status_code}, not {expect}: {response.text[:500]}")
    return response.content


def _in_process(
    catalog: Catalog, service: Service, index: int, answers: dict[str, Any], body: str, bare_env: dict[str, str],
    scratch: Path, quick: bool, bare_template: Any,
) -> list[Row]:
    """The same two requests, called in-process on the portal and the bare app: CPU per layer (bench.http_layers)."""
    import jinja2
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from bench import http_apps
    from bench.http_layers import layer_rows, whole_request
    from engine.run.web import api
    from engine.run.web.forms import FormBuilder

    with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project pins
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    data = scratch / "http-in-process"
    settings = load_settings({"TSONKH_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data / 'portal.db'}"})
    with open(os.devnull, "w") as quiet:
        app = create_app(settings, catalog, out=quiet)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        token = client.get("/api/session").json()["csrf_token"]
        client.post("/login", data={"csrf": token, "register_number": "УБ90010112", "name": "Bench", "next": "/"})
        token = client.get("/api/session").json()["csrf_token"]
        started = client.post(f"/services/{service.id}/start", data={"csrf": token}, follow_redirects=False)
        draft = int(started.headers["location"].split("/")[2])
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        portal = app.state.portal
        with portal.engine.begin() as conn:
            conn.execute(drafts.update().where(drafts.c.id == draft).values(answers=answers))
        if not bare_env["BENCH_BARE_TEMPLATE"]:
            bare_env["BENCH_BARE_TEMPLATE"] = bare_template(client.get(f"/apply/{draft}/{index}").text)
    saved = dict(os.environ)
    os.environ.update(bare_env)
    try:
        bare = http_apps.bare()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    json_type = {"content-type": "application/json"}
    post = ("POST", f"/api/services/{service.id}/applications", {"cookie": cookie, "x-csrf-token": token, **json_type},
            body.encode())
    get = ("GET", f"/apply/{draft}/{index}", {"cookie": cookie}, b"")
    functions = [
        (Portal, "run", "database transaction (Portal.run: thread hop, SQLite lock, the work inside)"),
        (Portal, "read", "database read transaction (Portal.read: thread hop, the work inside)"),
        (Service, "validate", "Service.validate, every call"),
        (FormBuilder, "build", "FormBuilder.build (the field views)"),
        (jinja2.Template, "render", "Jinja Template.render"),
        (Request, "json", "Request.json (read and parse the body)"),
        (api, "decode_documents", "api.decode_documents (base64, sniff, limits)"),
        (JSONResponse, "render", "JSONResponse.render (encode)"),
    ]
    count, rounds = (20, 3) if quick else (100, 7)
    reader = "read" if hasattr(Portal, "read") else "run"  # the GET's draft is read in a read transaction
    rows = []
    for method, request, bare_request, expect in (
        ("POST", post, ("POST", f"/bare/{service.id}", json_type, body.encode()), 201),
        ("GET", get, ("GET", "/bare-form", {}, b""), 200),
    ):
        if _ONLY in ("get", "layers") and method != "GET":
            continue
        if _ONLY == "post" and method != "POST":
            continue
        base = f"in-process bare {method}: whole request"
        values = whole_request(bare, bare_request, count, rounds, expect)
        median, p10, p90 = spread(values)
        rows.append(Row("4", base, "µs", median * 1e6, p10 * 1e6, p90 * 1e6, len(values)))
        rows += layer_rows("4", f"in-process portal {method}", app, request, expect, functions, count, rounds,
                           baseline=base, work=(Portal, reader if method == "GET" else "run",
                                                "the database work in the transaction"))
    portal.engine.dispose()
    return rows


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("4", "HTTP on loopback (wrk)")
    if shutil.which("wrk") is None:
        section.text.append("wrk is not installed (apt-get install wrk): figure skipped.")
        return section
    catalog = load_catalog(["service_defs"])
    service, answers = _pick(list(catalog.services.values()))
    index = max(range(len(service.sections)), key=lambda i: len(service.sections[i].fields))
    documents = _documents(service, answers[0])
    body = json.dumps({"answers": answers[0], "documents": documents}, ensure_ascii=False)
    data = scratch / "http-data"
    database_url = f"sqlite:///{data / 'portal.db'}"
    portal_env = {"TSONKH_DATA_DIR": str(data), "DATABASE_URL": database_url, "TSONKH_CATALOG": "service_defs",
                  "PYTHONPATH": str(REPO)}
    settings = load_settings({"TSONKH_DATA_DIR": str(scratch / "http-views")})
    views = _views(Portal(settings, catalog, make_engine("sqlite://"), FolderStore(scratch / "u")), service, index,
                   answers[0], [])
    plain = [{"name": v.name, "errors": v.errors, "parts": [], "rows": []} for v in views]
    bare_env = {"BENCH_BARE_DB": str(scratch / "bare.db"), "BENCH_BARE_FILES": str(scratch / "bare-files"),
                "BENCH_BARE_VIEWS": json.dumps(plain, ensure_ascii=False),
                "BENCH_BARE_DRAFT": json.dumps(answers[0], ensure_ascii=False), "PYTHONPATH": str(REPO)}
    seconds = 3 if quick else 10
    connections = 16
    configs = [("httptools", 1)] if quick else [("httptools", 1), ("httptools", 2), ("h11", 1), ("h11", 2)]
    if _ONLY in ("get", "post"):
        configs = [c for c in configs if c[0] == "httptools"]
    elif _ONLY == "layers":
        configs = []
    sizes: dict[str, int] = {}
    json_headers = {"Content-Type": "application/json"}
    for http, workers in configs:
        label = f"{http}, {workers} process{'es' if workers > 1 else ''}"
        portal = Server("bench.http_apps:portal", workers, http, portal_env)
        try:
            headers, draft = _login(portal.url, service, database_url, answers[0])
            get_url = f"{portal.url}/apply/{draft}/{index}"
            post_url = f"{portal.url}/api/services/{service.id}/applications"
            page = _probe(get_url, headers, None, 200)
            sizes["portal GET"] = len(page)
            if _ONLY in ("", "post"):
                sizes["portal POST"] = len(_probe(post_url, {**headers, **json_headers}, body, 201))
            bare_env.setdefault("BENCH_BARE_TEMPLATE", _in_page(page.decode(), _unrolled_source(views)))
            get = None if _ONLY == "post" else _wrk(get_url, seconds, connections, headers, None, scratch)
            post = (_wrk(post_url, seconds, connections, {**headers, **json_headers}, body, scratch)
                    if _ONLY in ("", "post") else None)
        finally:
            portal.stop()
        bare = Server("bench.http_apps:bare", workers, http, bare_env)
        try:
            sizes["bare GET"] = len(_probe(f"{bare.url}/bare-form", {}, None, 200))
            if _ONLY in ("", "post"):
                sizes["bare POST"] = len(_probe(f"{bare.url}/bare/{service.id}", json_headers, body, 201))
            bare_get = None if _ONLY == "post" else _wrk(f"{bare.url}/bare-form", seconds, connections, {}, None,
                                                         scratch)
            bare_post = (_wrk(f"{bare.url}/bare/{service.id}", seconds, connections, json_headers, body, scratch)
                         if _ONLY in ("", "post") else None)
        finally:
            bare.stop()
        bare_post_name = f"bare POST (parse, store documents, insert), {label}"
        bare_get_name = f"bare GET (draft read + unrolled template), {label}"
        for name, result, base, target in (
            (bare_post_name, bare_post, None, None),
            (f"portal POST submission with documents (parse, validate, route, insert, audit), {label}", post,
             bare_post_name, "≥ 0.8×"),
            (bare_get_name, bare_get, None, None),
            (f"portal GET form page, {label}", get, bare_get_name, "≥ 0.8×"),
        ):
            if result is None:  # BENCH_HTTP_ONLY: that request was not run
                continue
            note = f"p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms; {result['total']:.0f} requests"
            if result["errors"]:
                note += f", **{result['errors']:.0f} non-2xx/3xx**"
            section.rows.append(Row("4", name, "req/s", result["rps"], result["rps"], result["rps"], 1,
                                    baseline=base, target=target, note=note, extra=result))
        if bare_post is None or post is None:
            continue
        section.rows.append(Row("4", f"p99 latency, {bare_post_name}", "ms", bare_post["p99"], bare_post["p99"],
                                bare_post["p99"], 1))
        section.rows.append(Row("4", f"p99 latency, portal POST submission, {label}", "ms", post["p99"], post["p99"],
                                post["p99"], 1, baseline=f"p99 latency, {bare_post_name}", target="≤ 1.5×"))
    bare_env.setdefault("BENCH_BARE_TEMPLATE", "")  # filled in-process from the portal's page when no server ran
    section.rows += _in_process(catalog, service, index, answers[0], body, bare_env, scratch, quick,
                                lambda page: _in_page(page, _unrolled_source(views)))
    files = sum(len(v) for v in documents.values())
    section.text.append(
        f"{service.id} ({len(service.fields)} fields), section {index + 1} for the GET (the draft holds the same "
        f"answers the bare GET reads); the POST carries {files} documents of {DOCUMENT_BYTES:,} bytes each "
        f"({', '.join(documents)}), {len(body.encode()):,} bytes of JSON. Response bodies: portal POST "
        f"{sizes.get('portal POST', 0):,} B, bare POST {sizes.get('bare POST', 0):,} B; "
        f"portal GET {sizes.get('portal GET', 0):,} B, "
        f"bare GET {sizes.get('bare GET', 0):,} B (the bare page is the portal's own page as literal text around the "
        "unrolled fields). "
        f"{connections} connections, {seconds} s per run, one wrk thread; the spread column repeats the mean (wrk "
        "reports one rate per run); latency percentiles are wrk's. SQLite database (the portal's default); each POST "
        "creates a new application."
    )
    section.text.append(
        "The *in-process* rows call the same two requests on the ASGI apps directly (no server, no wrk, no socket), "
        "one after another. *Whole request, CPU* is this process's CPU time per request (the database thread "
        "included), its ratio against the bare app in-process; the database work's CPU is timed on its own thread, "
        "inside the transaction (its share of the whole request's CPU). The other rows are wall time (perf_counter; a "
        "CPU-clock read costs ≈5 µs here, more than a middleware layer): a timer between every two middleware "
        "layers gives each layer's own share, the named functions are timed inclusively (so they nest: the "
        "database transaction holds the submission's validation), and a row's ratio is its share of the timed "
        "request."
    )
    facts["http"] = "uvicorn " + subprocess.run([sys.executable, "-m", "uvicorn", "--version"], capture_output=True,
                                                text=True).stdout.strip()
    return section
