"""One Markdown manuscript: title page, chapter headings, scene breaks."""

from __future__ import annotations

from bookwright.model import Chapter, Manuscript

SCENE_BREAK = "* * *"


def to_markdown(book: Manuscript) -> str:
    lines = [
        "---",
        f"title: {_yaml_quote(book.title)}",
        f"author: {_yaml_quote(book.author)}",
        f"lang: {book.language}",
        "---",
        "",
        f"# {book.title}",
        "",
        f"*{book.genre}* · {book.word_count} words",
        "",
    ]
    if book.draft:
        lines += ["> **DRAFT** — this book is not finished; chapters may be missing.", ""]
    lines += [chapter_markdown(chapter) for chapter in book.chapters]
    return "\n".join(lines).rstrip() + "\n"


def chapter_markdown(chapter: Chapter) -> str:
    """One chapter: its heading, then its scenes separated by scene breaks."""
    body = f"\n\n{SCENE_BREAK}\n\n".join(scene.strip() for scene in chapter.scenes)
    return f"## Chapter {chapter.number}: {chapter.title}\n\n{body}\n"


def _yaml_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
