"""A template of one app never includes or extends a template of another app: what an app
shows on another's page goes through a template tag (``{% timeline %}``, ``{% tasks_panel %}``)
or a card panel of the registry; pieces every app uses live in ``crm/templates/``."""

from __future__ import annotations

import re
from pathlib import Path

CRM = Path(__file__).resolve().parents[2]
TEMPLATE_REFERENCE = re.compile(r"""{%-?\s*(?:include|extends)\s+["']([^"']+)["']""")


def cross_app_references(root: Path) -> list[str]:
    """``template -> included template`` for each literal include or extends, in the app
    templates under ``root`` (``<app>/templates/``), of a template found only in another
    app's templates (the shared ``root/templates/`` is anyone's)."""
    owners: dict[str, set[str]] = {}
    for app_templates in root.glob("*/templates"):
        for path in app_templates.rglob("*.html"):
            owners.setdefault(path.relative_to(app_templates).as_posix(), set()).add(
                app_templates.parent.name
            )
    shared = {
        path.relative_to(root / "templates").as_posix()
        for path in (root / "templates").rglob("*.html")
    }
    found = []
    for app_templates in root.glob("*/templates"):
        app = app_templates.parent.name
        for path in sorted(app_templates.rglob("*.html")):
            for name in TEMPLATE_REFERENCE.findall(path.read_text(encoding="utf-8")):
                apps = owners.get(name, set())
                if name not in shared and apps and app not in apps:
                    found.append(f"{path.relative_to(root)} -> {name}")
    return found


def test_no_template_includes_or_extends_a_template_of_another_app():
    assert cross_app_references(CRM) == []


def test_the_check_finds_an_include_of_another_apps_template(tmp_path):
    # given an app whose page includes another app's partial, one its own, one a shared one
    (tmp_path / "templates" / "partials").mkdir(parents=True)
    (tmp_path / "templates" / "partials" / "field.html").write_text("")
    (tmp_path / "sales" / "templates" / "sales").mkdir(parents=True)
    (tmp_path / "sales" / "templates" / "sales" / "lines.html").write_text("")
    (tmp_path / "customers" / "templates" / "customers").mkdir(parents=True)
    (tmp_path / "customers" / "templates" / "customers" / "card.html").write_text(
        '{% extends "base.html" %}{% include "sales/lines.html" %}'
        "{% include 'partials/field.html' %}{% include \"customers/card.html\" %}"
    )
    # when / then
    assert cross_app_references(tmp_path) == [
        "customers/templates/customers/card.html -> sales/lines.html"
    ]
