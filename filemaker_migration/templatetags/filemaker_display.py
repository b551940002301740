"""Template filters for the migration's pages: `{% load filemaker_display %}`."""

from __future__ import annotations

from django import template

from filemaker_migration import display
from filemaker_migration import reasons

register = template.Library()


@register.filter
def fm_date(value):
    return display.date_text(value)


@register.filter
def fm_id(value):
    return display.id_text(value)


@register.filter
def reason_label(code: str) -> str:
    return reasons.describe(code).label


@register.filter
def tried(value) -> str:
    return reasons.tried_text(value) or "—"
