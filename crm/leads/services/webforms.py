"""Web forms: the administrator's form definitions, the snippet for the site, and the
checks a public submission passes before it is stored (bots, size, allowed fields).

A submission is validated first (required fields, phone and e-mail formats) and answered
4xx naming the field without storing anything; a valid one is stored as an ``Inbound`` and
processed like every other channel. A bot's submission (the honeypot filled in, or sent
faster than a person can type) is answered like a success, so the bot learns nothing, and
creates no lead.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.counters import counter_increment
from crm.core.errors import ValidationFailed
from crm.core.text import without_controls
from crm.customers.services.cleaning import Errors, clean_text
from crm.leads.choices import Channel
from crm.leads.models import Inbound, WebForm
from crm.leads.permissions import WEB_FORMS
from crm.leads.services.intake import LeadInput, clean_lead_input, inbound_store

HONEYPOT = "_hp"
STARTED = "_ts"
# Names a form field may have that map onto the lead itself; any other name is stored in
# the lead's ``data`` under that name.
STANDARD_FIELDS = ("name", "phone", "email", "company", "inn", "message", "client_type")
TRACKING_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "page_url",
)
FIELD_TYPES = ("text", "tel", "email", "textarea", "select", "checkbox")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 30
MAX_BODY_BYTES = 64 * 1024
RATE_WINDOW_SECONDS = 60


@dataclass
class Verdict:
    is_bot: bool
    reason: str = ""


def _clean_fields(errors: Errors, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors.add("fields", _("Add at least one field."))
        return []
    if len(raw) > MAX_FIELDS:
        errors.add("fields", _("At most %(n)d fields.") % {"n": MAX_FIELDS})
        return []
    fields, names = [], set()
    for index, item in enumerate(raw):
        prefix = f"fields[{index}]"
        if not isinstance(item, dict):
            errors.add(prefix, _("Expected a field."))
            continue
        name = str(item.get("name") or "")
        if not FIELD_NAME.match(name) or name in (HONEYPOT, STARTED) or name in TRACKING_FIELDS:
            errors.add(
                f"{prefix}.name", _("Latin letters, digits and “_”, starting with a letter.")
            )
            continue
        if name in names:
            errors.add(f"{prefix}.name", _("Each field once."))
            continue
        names.add(name)
        field_type = item.get("type") or "text"
        if field_type not in FIELD_TYPES:
            errors.add(f"{prefix}.type", _("Unknown field type."))
        label = clean_text(
            errors, f"{prefix}.label", item.get("label") or name, max_length=150, required=True
        )
        options = (
            [str(option)[:100] for option in (item.get("options") or [])][:50]
            if field_type == "select"
            else []
        )
        fields.append(
            {
                "name": name,
                "label": label,
                "type": field_type,
                "required": bool(item.get("required")),
                "options": options,
            }
        )
    if fields and not names & {"phone", "email"}:
        errors.add("fields", _("A form needs a phone or an e-mail field to reach the person."))
    return fields


def _clean_origins(errors: Errors, raw: Any) -> list[str]:
    origins = []
    for value in raw or []:
        text = str(value).strip().rstrip("/")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", text):
            errors.add(
                "allowed_origins",
                _("“%(value)s” is not a site address like https://example.ru.")
                % {"value": text[:100]},
            )
            continue
        origins.append(text.lower())
    return sorted(set(origins))


@transaction.atomic
def webform_save(*, actor: User, form: WebForm | None = None, **data: Any) -> WebForm:
    WEB_FORMS.check(actor)
    errors = Errors()
    name = clean_text(
        errors, "name", data.get("name", form.name if form else ""), max_length=150, required=True
    )
    fields = _clean_fields(errors, data.get("fields", form.fields if form else None))
    origins = _clean_origins(
        errors, data.get("allowed_origins", form.allowed_origins if form else [])
    )
    thank_you = clean_text(
        errors,
        "thank_you_text",
        data.get("thank_you_text", form.thank_you_text if form else ""),
        max_length=500,
    )
    redirect_url = str(data.get("redirect_url", form.redirect_url if form else "") or "").strip()
    if redirect_url and not re.match(r"^https?://", redirect_url):
        errors.add("redirect_url", _("Enter an http(s) address."))
    try:
        min_fill = int(data.get("min_fill_seconds", form.min_fill_seconds if form else 3))
    except (TypeError, ValueError):
        min_fill = -1
    if not 0 <= min_fill <= 60:
        errors.add("min_fill_seconds", _("From 0 to 60 seconds."))
    errors.raise_if_any()
    form = form or WebForm(
        key=secrets.token_urlsafe(12).lower().replace("_", "x").replace("-", "y"), created_by=actor
    )
    form.name, form.fields, form.allowed_origins = name, fields, origins
    form.thank_you_text, form.redirect_url, form.min_fill_seconds = (
        thank_you,
        redirect_url,
        min_fill,
    )
    if "is_active" in data:
        form.is_active = bool(data["is_active"])
    form.save()
    return form


# --- a public submission --------------------------------------------------------------------------


def started_token() -> str:
    """A signed "the form was shown at" mark for the hosted form page (no JavaScript)."""
    return signing.dumps(int(time.time()), salt="crm.leads.webform")


def _started_at(value: str) -> float | None:
    if not value:
        return None
    if value.isascii() and value.isdigit():  # set by the snippet's script (milliseconds)
        if len(value) > 15:
            return 0.0
        number = int(value)
        return number / 1000 if number > 10**11 else float(number)
    try:
        return float(signing.loads(value, salt="crm.leads.webform", max_age=86400))
    except signing.BadSignature:
        return 0.0


def _scalar_text(value: Any) -> str | None:
    """A submitted value as text (a list of values joined by commas); None when it is not
    text, a number, a yes/no or a list of those (a nested object is nobody's typing)."""
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, list) and all(
        item is None or isinstance(item, str | int | float | bool) for item in value
    ):
        return ", ".join("" if item is None else str(item) for item in value)
    return None


def bot_check(form: WebForm, data: dict[str, Any], *, now: float | None = None) -> Verdict:
    if (_scalar_text(data.get(HONEYPOT)) or "").strip():
        return Verdict(True, "honeypot")
    started = _started_at(_scalar_text(data.get(STARTED)) or "")
    if started is not None and (now or time.time()) - started < form.min_fill_seconds:
        return Verdict(True, "too fast")
    return Verdict(False)


def rate_limited(address: str | None) -> bool:
    """Count a submission from ``address``; true when it is over the per-minute limit.

    The count is one atomic ``UPDATE`` (``crm.core.counters``), so submissions arriving at
    once on several processes never pass the limit together, whatever the cache.
    """
    if not address:
        return False
    key = "webform-rate:" + hashlib.sha256(address.encode()).hexdigest()[:32]
    count = counter_increment(key=key, window_seconds=RATE_WINDOW_SECONDS)
    return count > settings.LEADS_FORM_RATE_LIMIT


def submission_values(form: WebForm, data: dict[str, Any]) -> dict[str, Any]:
    """What is read from a submission: the form's own fields and the tracking fields, as
    text; anything else is ignored, so a form cannot write to fields it does not list.

    Stray control characters (NUL and the other C0 controls but tab and line breaks) are
    dropped, so a real submission with one is kept rather than refused by the database.
    Raises ``ValidationFailed`` naming a field whose value is an object or a nested list.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    names = [field["name"] for field in form.fields]
    for name in (*names, *TRACKING_FIELDS):
        text = _scalar_text(data.get(name))
        if text is None:
            errors[name] = [_("Expected text.")]
        elif name in names or text:
            values[name] = without_controls(text)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values


def submission_validate(form: WebForm, values: dict[str, Any]) -> LeadInput:
    """Check required fields and formats; raises ``ValidationFailed`` naming the fields."""
    errors: dict[str, list[str]] = {}
    for field in form.fields:
        if field["required"] and not str(values.get(field["name"]) or "").strip():
            errors.setdefault(field["name"], []).append(_("This field is required."))
        if (
            field["type"] == "select"
            and values.get(field["name"])
            and field["options"]
            and values[field["name"]] not in field["options"]
        ):
            errors.setdefault(field["name"], []).append(_("Choose one of the options."))
    extra = tuple(field["name"] for field in form.fields if field["name"] not in STANDARD_FIELDS)
    try:
        lead_input = clean_lead_input(values, extra_fields=extra)
    except ValidationFailed as error:
        for name, messages in error.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        lead_input = LeadInput()
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return lead_input


def submission_store(
    *, form: WebForm, values: dict[str, Any], meta: dict[str, Any], is_bot: bool, raw: str = ""
) -> Inbound:
    """Store a submission as it arrived (``raw``, the body as text) with the values read
    from it; a person's submission is then processed into a lead, a bot's is rejected."""
    inbound, _created = inbound_store(
        channel=Channel.WEB_FORM,
        payload=values,
        raw=raw,
        meta=meta,
        form=form,
        process=not is_bot,
    )
    if is_bot:
        Inbound.objects.filter(pk=inbound.pk).update(
            status="rejected", error=meta.get("bot", "")[:500]
        )
    return inbound


def webform_lead_input(inbound: Inbound) -> LeadInput | None:
    """A web form's stored submission as a lead's input, checked against the form's fields."""
    form = inbound.form
    if form is None:
        return clean_lead_input(inbound.payload)
    lead_input = submission_validate(form, inbound.payload)
    lead_input.title = (
        lead_input.title
        or f"{form.name}: {lead_input.name or lead_input.email or lead_input.phone}"[:200]
    )
    return lead_input


# --- the snippet ----------------------------------------------------------------------------------


def snippet(form: WebForm, *, base_url: str) -> str:
    """HTML to paste into the site: a plain form (works without JavaScript) plus a short
    script that records the fill time, the UTM tags and the page, and sends it in the
    background when JavaScript is on."""
    action = f"{base_url.rstrip('/')}/f/{form.key}"
    rows = []
    for field in form.fields:
        label = html.escape(field["label"])
        name = html.escape(field["name"])
        required = " required" if field["required"] else ""
        if field["type"] == "textarea":
            control = f'<textarea name="{name}"{required}></textarea>'
        elif field["type"] == "select":
            options = "".join(
                f'<option value="{html.escape(o)}">{html.escape(o)}</option>'
                for o in field["options"]
            )
            control = (
                f'<select name="{name}"{required}><option value=""></option>{options}</select>'
            )
        elif field["type"] == "checkbox":
            control = f'<input type="checkbox" name="{name}" value="yes"{required}>'
        else:
            control = f'<input type="{html.escape(field["type"])}" name="{name}"{required}>'
        rows.append(f"  <p><label>{label}<br>{control}</label></p>")
    thanks = json.dumps(form.thank_you_text or "Спасибо! Мы свяжемся с вами.")
    return f"""<form class="crm-form" method="post" action="{html.escape(action)}" accept-charset="utf-8">
{chr(10).join(rows)}
  <p style="position:absolute;left:-10000px" aria-hidden="true"><input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></p>
  <input type="hidden" name="{STARTED}" value="">
  <p><button type="submit">Отправить</button></p>
</form>
<script>
(function () {{
  var form = document.currentScript.previousElementSibling;
  form.elements["{STARTED}"].value = String(Date.now());
  var params = new URLSearchParams(location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (key) {{
    if (params.get(key)) {{ var input = document.createElement("input"); input.type = "hidden"; input.name = key; input.value = params.get(key); form.appendChild(input); }}
  }});
  [["referrer", document.referrer], ["page_url", location.href]].forEach(function (pair) {{
    var input = document.createElement("input"); input.type = "hidden"; input.name = pair[0]; input.value = pair[1]; form.appendChild(input);
  }});
  form.addEventListener("submit", function (event) {{
    if (!window.fetch) return;
    event.preventDefault();
    fetch(form.action, {{ method: "POST", body: new FormData(form), headers: {{ Accept: "application/json" }} }})
      .then(function (response) {{ return response.json().then(function (data) {{ return [response.ok, data]; }}); }})
      .then(function (result) {{
        if (result[0]) {{ form.innerHTML = "<p>" + {thanks}.replace(/</g, "&lt;") + "</p>"; return; }}
        var errors = result[1].errors || {{}};
        Object.keys(errors).forEach(function (name) {{ var el = form.elements[name]; if (el) {{ el.setCustomValidity(errors[name].join(" ")); el.reportValidity(); el.addEventListener("input", function () {{ el.setCustomValidity(""); }}, {{ once: true }}); }} }});
        if (!Object.keys(errors).length) alert(result[1].detail || "Error");
      }})
      .catch(function () {{ form.submit(); }});
  }});
}})();
</script>"""
