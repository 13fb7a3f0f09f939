"""Prompt templates live in bookwright/prompts/*.j2 (and a registered job's own folder),
never as strings in code."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_FOLDERS: list[Path] = []  # the prompt folders of jobs from other packages


def add_prompt_folder(folder: Path) -> None:
    """Templates of a job's own, looked up after bookwright's."""
    if folder not in _FOLDERS:
        _FOLDERS.append(folder)
        _env.cache_clear()


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("bookwright", "prompts"),
                *(jinja2.FileSystemLoader(str(folder)) for folder in _FOLDERS),
            ]
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(template: str, variables: dict[str, Any]) -> str:
    return _env().get_template(template).render(**variables).strip()
