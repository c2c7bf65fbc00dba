"""Public statistics pages: the catalog table and each service's page, as HTML, CSV and JSON, with a
small server-rendered SVG chart of applications per month (no scripts, no personal data)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.engine import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.compile.model import I18n
from engine.run import statistics as stats
from engine.run.web.app import portal_of
from engine.run.web.i18n import TEXTS

TEXTS.update(
    {
        "stats_intro": I18n(
            "Өргөдлийн явцын бүртгэлээс (аудитын түүх) тооцсон. 5-аас цөөн тоог «<5» гэж харуулж, "
            "5-аас цөөн өргөдлөөс хувь, хугацааг тооцохгүй.",
            "Computed from the audit trail of every application. Counts below 5 are shown as “<5”, and shares "
            "and times are not published for fewer than 5 cases.",
        ),
        "stats_received": I18n("Хүлээн авсан", "Received"),
        "stats_decided": I18n("Шийдвэрлэсэн", "Decided"),
        "stats_share_decided": I18n("Шийдвэрлэсэн хувь", "Share decided"),
        "stats_share_granted": I18n("Зөвшөөрсөн (шийдвэрлэснээс)", "Granted (of decided)"),
        "stats_median": I18n("Хугацааны медиан (ажлын өдөр)", "Median time (working days)"),
        "stats_p90": I18n("90-р перцентиль (ажлын өдөр)", "90th percentile (working days)"),
        "stats_within_sla": I18n("Хугацаандаа шийдвэрлэсэн", "Within the promised time"),
        "stats_returned": I18n("Засвар руу буцаасан", "Returned for correction"),
        "stats_open": I18n("Шийдвэрлэгдээгүй", "Open now"),
        "stats_rating": I18n("Иргэдийн үнэлгээ (1–5)", "Citizens' rating (1–5)"),
        "stats_ratings": I18n("Үнэлгээний тоо", "Ratings"),
        "stats_per_month": I18n("Сар бүр хүлээн авсан өргөдөл", "Applications received per month"),
        "stats_month": I18n("Сар", "Month"),
        "stats_sla": I18n("Амласан хугацаа", "Promised time"),
        "stats_download": I18n("Өгөгдөл татах", "Download the data"),
        "stats_all": I18n("Бүх үйлчилгээний статистик", "Statistics of all services"),
        "stats_withheld": I18n("—", "—"),
        "stats_chart_label": I18n(
            "Сүүлийн 12 сард сар бүр хүлээн авсан өргөдлийн тоо", "Applications received in each of the last 12 months"
        ),
    }
)


def compute(conn: Connection, portal: Any) -> dict[str, stats.ServiceStatistics]:
    return stats.compute(conn, portal.book)


async def _rows(request: Request) -> tuple[list[dict[str, Any]], dt.date]:
    portal = portal_of(request)
    today = dt.date.today()
    found = await portal.read(compute, portal)
    return stats.catalog_rows(found, portal.book.services, today), today


def _csv(body: str, name: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Access-Control-Allow-Origin": "*"},
    )


def _json(data: Any) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


def shown(value: Any, percent: bool = False) -> str:
    if value is None:
        return "—"
    if percent and isinstance(value, float):
        return f"{value * 100:.0f}%"
    return str(value)


async def catalog_page(request: Request) -> Response:
    portal = portal_of(request)
    rows, _today = await _rows(request)
    label = TEXTS["stats_chart_label"].get(portal.lang(request))
    lines = {r["service_id"]: sparkline(list(r["per_month"].values()), label) for r in rows}
    return portal.render(request, "statistics/catalog.html", {"rows": rows, "shown": shown, "lines": lines})


async def catalog_csv(request: Request) -> Response:
    rows, _today = await _rows(request)
    return _csv(stats.csv_text(rows, stats.COLUMNS), "statistics.csv")


async def catalog_json(request: Request) -> Response:
    rows, today = await _rows(request)
    return _json({"generated": today.isoformat(), "threshold": stats.THRESHOLD, "services": rows})


async def _service_row(request: Request) -> tuple[dict[str, Any], dt.date]:
    service_id = request.path_params["service_id"]
    if service_id not in portal_of(request).book.services:
        raise HTTPException(404)
    rows, today = await _rows(request)
    return next(r for r in rows if r["service_id"] == service_id), today


async def service_page(request: Request) -> Response:
    portal = portal_of(request)
    row, _today = await _service_row(request)
    service = portal.book.services[row["service_id"]]
    chart = bar_chart(list(row["per_month"].items()), TEXTS["stats_chart_label"].get(portal.lang(request)))
    return portal.render(
        request, "statistics/service.html", {"row": row, "service": service, "chart": chart, "shown": shown}
    )


async def service_csv(request: Request) -> Response:
    row, _today = await _service_row(request)
    body = stats.csv_text(stats.service_long_rows(row), ("service_id", "metric", "period", "value"))
    return _csv(body, f"{row['service_id']}-statistics.csv")


async def service_json(request: Request) -> Response:
    row, today = await _service_row(request)
    return _json({"generated": today.isoformat(), "threshold": stats.THRESHOLD, **row})


def bar_chart(series: Sequence[tuple[str, Any]], label: str, width: int = 480, height: int = 160) -> Markup:
    """A bar per month; a suppressed month ("<5") is drawn as an outlined bar of the threshold's height."""
    numbers = [v if isinstance(v, int) else stats.THRESHOLD - 1 for _, v in series]
    top = max([*numbers, stats.THRESHOLD])
    n = max(len(series), 1)
    slot = (width - 40) / n
    bars = []
    for i, (month, value) in enumerate(series):
        h = (numbers[i] / top) * (height - 40)
        x = 30 + i * slot + slot * 0.15
        y = height - 20 - h
        suppressed = not isinstance(value, int)
        fill = 'fill="none" stroke="#1d70b8" stroke-dasharray="3 2"' if suppressed else 'fill="#1d70b8"'
        bars.append(
            f'<g><title>{escape(month)}: {escape(str(value))}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{max(h, 0.5):.1f}" {fill}/>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 6}" font-size="9" text-anchor="middle" fill="#505a5f">'
            f"{escape(month[5:])}</text>"
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle" fill="#0b0c0c">'
            f"{escape(str(value)) if value else ''}</text></g>"
        )
    svg = (
        f'<svg class="stats-chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="28" y1="{height - 20}" x2="{width - 8}" y2="{height - 20}" stroke="#b1b4b6"/>'
        + "".join(bars)
        + "</svg>"
    )
    return Markup(svg)


def sparkline(values: Sequence[Any], label: str, width: int = 72, height: int = 18) -> Markup:
    """A row's tiny chart of the last 12 months; suppressed months are drawn at the threshold, dashed."""
    numbers = [v if isinstance(v, int) else stats.THRESHOLD - 1 for v in values]
    if not any(numbers):
        return Markup("")
    top = max([*numbers, stats.THRESHOLD])
    step = width / max(len(numbers), 1)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - (n / top) * height:.1f}" width="{step * 0.8:.1f}" '
        f'height="{max((n / top) * height, 0.5):.1f}" '
        + ('fill="none" stroke="#1d70b8" stroke-width="0.6"' if not isinstance(v, int) else 'fill="#1d70b8"')
        + "/>"
        for i, (n, v) in enumerate(zip(numbers, values, strict=True))
    )
    return Markup(
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">{bars}</svg>'
    )


def routes() -> list[Route]:
    return [
        Route("/statistics", catalog_page),
        Route("/statistics.csv", catalog_csv),
        Route("/statistics.json", catalog_json),
        Route("/services/{service_id}/statistics", service_page),
        Route("/services/{service_id}/statistics.csv", service_csv),
        Route("/services/{service_id}/statistics.json", service_json),
    ]


