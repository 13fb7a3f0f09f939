"""Pydantic domain types. No SDK, SQL, CLI or web imports here."""

from bookwright.model.adapt import AdaptSpec  # registers its artifacts
from bookwright.model.artifacts import (
    Cast,
    Chapter,
    ChapterOutline,
    Character,
    Location,
    Locations,
    Manuscript,
    Outline,
    SceneList,
    SceneLists,
    ScenePlan,
    SceneText,
    StoryPlan,
)
from bookwright.model.review import Findings, ReviewSpec  # registers its artifacts
from bookwright.model.sources import SourcesSpec, Storyline  # registers its artifacts
from bookwright.model.spec import BookSpec, Stage
from bookwright.model.status import BookState, ChapterState

__all__ = [
    "AdaptSpec",
    "BookSpec",
    "BookState",
    "Cast",
    "Chapter",
    "ChapterOutline",
    "ChapterState",
    "Character",
    "Findings",
    "Location",
    "Locations",
    "Manuscript",
    "Outline",
    "ReviewSpec",
    "SceneList",
    "SceneLists",
    "ScenePlan",
    "SceneText",
    "SourcesSpec",
    "Stage",
    "StoryPlan",
    "Storyline",
]
