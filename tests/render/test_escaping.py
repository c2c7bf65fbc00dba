"""Author text is literal markup in a compiled page, never template code: labels, hints, options,
titles and intros that look like Jinja, HTML or quotes come out escaped, exactly as the reference renders."""

from __future__ import annotations

from pathlib import Path

from engine.run.web.citizen import form_pages, render_section, render_section_reference, steps
from tests.conftest import CheckYaml, service_yaml
from tests.render.test_compiled_pages import make_portal, request_for

NASTY = [
    "{{ 7*7 }}",
    '{% include "x" %}',
    "{# hidden #}",
    "<script>alert(1)</script>",
    "\"double\" & 'single' quotes",
    "{{ K[0] }} {{ a }} {% raw %}{% endraw %} }} %} #}",
]


def test_author_text_never_becomes_template_code(check_yaml: CheckYaml, tmp_path: Path) -> None:
    label = lambda n: "{mn: '" + NASTY[n].replace("'", "''") + "', en: '" + NASTY[n].replace("'", "''") + " en'}"  # noqa: E731
    catalog = check_yaml(service_yaml(f"""\
    sections:
      - id: main
        title: {label(0)}
        intro: {label(1)}
        fields:
          - id: name
            type: text
            label: {label(0)}
            hint: {label(1)}
          - id: kind
            type: choice
            label: {label(3)}
            options:
              - {{value: a, label: {label(2)}}}
              - {{value: b, label: {label(4)}}}
          - id: many
            type: choice
            widget: select
            label: {label(5)}
            required: false
            options:
              - {{value: a, label: {label(5)}}}
          - id: more
            type: textarea
            label: {label(4)}
            required: false
            show_if: "kind == 'b'"
    """))
    assert not catalog.errors, [p.code for p in catalog.errors]
    service = catalog.services["sample"]
    portal = make_portal(catalog, tmp_path)
    answers = {"name": "{{ 6*6 }}</textarea><script>", "kind": "b", "more": "{% if 1 %}x{% endif %}"}
    errors = list(service.validate(answers).errors)
    for lang in ("mn", "en"):
        assert form_pages(portal).get(service, 0, lang, catalog.registries, steps(service)) is not None
        draft = {"id": 1, "answers": answers, "application_id": None}
        args = (request_for(lang), portal, 1, draft, service, 0, answers, errors, None, None)
        page = render_section(*args).body.decode()
        assert page == render_section_reference(*args).body.decode()
        assert "49" not in page and "36" not in page  # nothing was evaluated
        assert "{{ 7*7 }}" in page and "{{ 6*6 }}" in page and "{% include &#34;x&#34; %}" in page
        assert "{# hidden #}" in page and "{% if 1 %}x{% endif %}" in page
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&#34;double&#34; &amp; &#39;single&#39; quotes" in page

