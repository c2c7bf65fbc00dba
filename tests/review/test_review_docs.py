"""`tsonkh docs`: the bilingual static site, on the fixture project and the change pairs' base service."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.catalog import load_catalog
from engine.review.docs_site import write_site
from engine.review.plain_words import in_words
from tests.review.support import build_side


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return build_side("wording", "old", tmp_path)


def _site(project: Path, out: Path, svg: bool = False) -> Path:
    catalog = load_catalog([project / "service_defs"], root=project)
    assert catalog.errors == []
    written = write_site(catalog, out, svg=svg)
    assert written.services == 1
    assert written.pages == 2 * (2 + 1)
    return out


def test_pages_exist_in_both_languages(project: Path, tmp_path: Path) -> None:
    out = _site(project, tmp_path / "site")
    for lang_root in (out, out / "en"):
        for page in ("index.html", "categories.html", "services/test-certificate.html"):
            assert (lang_root / page).is_file(), lang_root / page
    mn = (out / "services" / "test-certificate.html").read_text(encoding="utf-8")
    en = (out / "en" / "services" / "test-certificate.html").read_text(encoding="utf-8")
    assert '<html lang="mn">' in mn and '<html lang="en">' in en
    assert "<h1>Гэрчилгээ</h1>" in mn and "<h1>Certificate</h1>" in en
    assert 'href="../en/services/test-certificate.html"' in mn
    assert 'href="../../services/test-certificate.html"' in en
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="services/test-certificate.html"' in index
    assert "Улсын бүртгэлийн ерөнхий газар" in index  # grouped by agency
    assert "Иргэний бүртгэл" in (out / "categories.html").read_text(encoding="utf-8")


def test_service_page_says_how_the_service_works(project: Path, tmp_path: Path) -> None:
    en = (_site(project, tmp_path / "site") / "en" / "services" / "test-certificate.html").read_text(encoding="utf-8")
    assert "Asked only when Reason is “Damaged”" in en  # show_if in words
    assert "when Delivery is “By post”" in en  # required_if in words
    assert "10 000 ₮" in en and "= 2000 * (copies - 1)" in en  # fees, fixed and computed
    assert "3 working days" in en
    assert 'href="https://legalinfo.mn/law/1"' in en
    assert "fetched automatically from the state registry" in en  # id card through ХУР
    assert '<pre class="mermaid">stateDiagram-v2' in en
    assert "Central" in en and "the office for the chosen District" in en  # routing table
    assert "Registrar" in en  # roles by their registry label


def test_definitions_cannot_inject_html(project: Path, tmp_path: Path) -> None:
    path = project / "service_defs" / "central" / "gasr" / "test-certificate.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("en: Reason}", 'en: "<script>alert(1)</script>"}')
    text = text.replace('url: "https://legalinfo.mn/law/1"', 'url: "javascript:alert(2)"')
    text = text.replace("title: {mn: Гэрчилгээ, en: Certificate}", 'title: {mn: Гэрчилгээ, en: "Tom & <b>Jerry</b>"}')
    path.write_text(text, encoding="utf-8")
    out = _site(project, tmp_path / "site")
    en = (out / "en" / "services" / "test-certificate.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in en and "&lt;script&gt;alert(1)&lt;/script&gt;" in en
    assert "javascript:" not in en
    assert "<b>Jerry</b>" not in en and "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;" in en
    assert "<b>Jerry</b>" not in (out / "en" / "index.html").read_text(encoding="utf-8")


def test_svg_diagrams_when_graphviz_is_installed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot = bin_dir / "dot"  # stands in for Graphviz: checks it is fed DOT, answers with an SVG
    fake_dot.write_text('#!/bin/sh\ngrep -q "digraph workflow" && echo "<svg><text>ok</text></svg>"\n')
    fake_dot.chmod(fake_dot.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = _site(project, tmp_path / "site", svg=True)
    assert (out / "svg" / "test-certificate.mn.svg").read_text(encoding="utf-8").startswith("<svg>")
    assert '<img src="../svg/test-certificate.mn.svg"' in (out / "services" / "test-certificate.html").read_text(
        encoding="utf-8"
    )
    assert '<img src="../../svg/test-certificate.en.svg"' in (
        out / "en" / "services" / "test-certificate.html"
    ).read_text(encoding="utf-8")


def test_docs_command(project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "docs", str(tmp_path / "out"), str(project / "service_defs"), "--no-svg"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "6 page(s), 1 service(s)" in done.stdout
    assert (tmp_path / "out" / "style.css").is_file()


def test_expressions_in_words(project: Path) -> None:
    service = load_catalog([project / "service_defs"], root=project).services["test-certificate"]
    fields = service.field_index
    assert in_words("reason == 'damaged'", fields, "en") == "Reason is “Damaged”"
    assert in_words("reason == 'damaged'", fields, "mn") == "«Шалтгаан» нь «Гэмтсэн» байвал"
    assert in_words("copies > 1 and delivery in ['post', 'email']", fields, "en") == (
        "Copies is more than 1 and Delivery is one of (“By post”, “By email”)"
    )
    assert in_words("not empty(damage) or copies <= 2", fields, "en") == "not (Damage is empty) or Copies is at most 2"
    assert in_words("count(children) > 1", fields, "en") is None  # shown as the expression instead
