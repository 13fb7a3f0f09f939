"""Prompt templates live in bookwright/prompts/*.j2, never as strings in code."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bookwright", "prompts"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(template: str, variables: dict[str, Any]) -> str:
    return _env().get_template(template).render(**variables).strip()
