"""Template filters that write user text safely into non-HTML documents (see portal/text.py)."""

from __future__ import annotations

from django import template

from portal.text import markdown_text, one_line

register = template.Library()


@register.filter(name="markdown_text")
def markdown_text_filter(value: object) -> str:
    """User text as literal Markdown (pull request bodies)."""
    return markdown_text(value if value is not None else "")


@register.filter(name="one_line")
def one_line_filter(value: object) -> str:
    return one_line(value if value is not None else "")
