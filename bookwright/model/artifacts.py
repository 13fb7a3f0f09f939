"""Every artifact the pipeline produces. Validators check content, not just shape,
so an edited file (or a weak model) cannot slip in empty, duplicate or JSON-filled fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _clean_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if value[:1] in "{[" and value[-1:] in "}]":
        raise ValueError("must be prose, not JSON")
    return value


Text = Annotated[str, AfterValidator(_clean_text)]


def check_numbered(numbers: list[int], what: str) -> None:
    """Numbered 1..n in order, as chapters and scenes are."""
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{what} must be numbered 1..{len(numbers)} in order")


def check_backward(number: int, depends_on: list[int]) -> None:
    """Dependencies point backwards only, so a plan's graph cannot have a cycle."""
    for dep in depends_on:
        if not 1 <= dep < number:
            raise ValueError(
                f"chapter {number} depends on {dep}; a chapter can only depend on earlier chapters"
            )


class Artifact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoryPlan(Artifact):
    title: Text
    premise: Text
    genre: Text
    logline: Text
    setting: Text
    conflict: Text
    ending: Text
    themes: list[Text] = Field(default_factory=list)


class Character(Artifact):
    name: Text = Field(max_length=80)
    role: Text = Field(max_length=80)
    description: Text


def _distinct(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.casefold()
        if key in seen:
            raise ValueError(f"{what} {name!r} appears twice; names must be distinct")
        seen.add(key)


class Cast(Artifact):
    characters: list[Character] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_names(self) -> Cast:
        _distinct([c.name for c in self.characters], "character")
        return self


class Location(Artifact):
    name: Text = Field(max_length=120)
    description: Text


class Locations(Artifact):
    locations: list[Location] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_names(self) -> Locations:
        _distinct([loc.name for loc in self.locations], "location")
        return self


class ChapterOutline(Artifact):
    number: int = Field(ge=1)
    title: Text = Field(max_length=200)
    summary: Text
    depends_on: list[int] = Field(default_factory=list)


class Outline(Artifact):
    chapters: list[ChapterOutline] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_and_acyclic(self) -> Outline:
        check_numbered([c.number for c in self.chapters], "chapters")
        for chapter in self.chapters:
            check_backward(chapter.number, chapter.depends_on)
        return self

    def chapter(self, number: int) -> ChapterOutline:
        return self.chapters[number - 1]


class ScenePlan(Artifact):
    number: int = Field(ge=1)
    summary: Text
    characters: list[str] = Field(default_factory=list)
    location: str = ""


class SceneList(Artifact):
    chapter: int = Field(ge=1)
    scenes: list[ScenePlan] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered(self) -> SceneList:
        check_numbered([s.number for s in self.scenes], "scenes")
        return self


class SceneLists(Artifact):
    """The `scenes` artifact: every chapter's scene list, reviewed together at a pause."""

    chapters: list[SceneList] = Field(min_length=1)


class SceneText(Artifact):
    chapter: int = Field(ge=1)
    scene: int = Field(ge=1)
    text: Text
    words: int = 0

    @model_validator(mode="after")
    def _count(self) -> SceneText:
        self.words = len(self.text.split())
        return self


class Chapter(Artifact):
    number: int = Field(ge=1)
    title: Text
    scenes: list[Text] = Field(min_length=1)

    @property
    def word_count(self) -> int:
        return sum(len(s.split()) for s in self.scenes)


class Manuscript(Artifact):
    title: Text
    author: str
    language: str = "en"
    genre: str = ""
    chapters: list[Chapter]
    draft: bool = False

    @property
    def word_count(self) -> int:
        return sum(c.word_count for c in self.chapters)


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    "plan": StoryPlan,
    "characters": Cast,
    "locations": Locations,
    "outline": Outline,
    "scenes": SceneLists,
    "manuscript": Manuscript,
}
