"""What the `review` job records: the findings an author reviews (and strikes), and the
report. Registered in ARTIFACT_TYPES, so `show`, `approve --edit` and `doctor` check them
like every other artifact."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact

Severity = Literal["minor", "major", "critical"]
SEVERITY_WEIGHT: dict[str, float] = {"minor": 1.0, "major": 3.0, "critical": 6.0}


class ReviewSpec(BaseModel):
    """A review described once: stored as the book's spec, with `job = "review"`."""

    job: Literal["review"] = "review"
    source_file: str = Field(description="The manuscript's file name, as given.")
    title: str = Field(min_length=1, max_length=200)
    genre: str = ""
    target_words: int | None = Field(default=None, ge=100)
    themes: list[str] = Field(default_factory=list)
    audience: str = ""
    chapters: int = Field(ge=1)
    model: str = "local"
    seed: int = 42
    temperature: float = 0.3
    pause_at: list[Literal["findings", "revision"]] = Field(
        default_factory=list,
        description="findings: after the analysis; revision: after each revision.",
    )
    revise: bool = Field(default=False, description="Revise until good enough (--revise).")
    max_iterations: int = Field(default=3, ge=1, le=20)
    threshold: float = Field(default=8.5, ge=0, le=10, description="Overall score to stop at.")
    time_limit_s: float | None = Field(default=None, gt=0)
    max_growth: float = Field(
        default=0.05, ge=0, le=1, description="Share a revised passage may grow or shrink."
    )
    nodes: list[str] = Field(default_factory=list, description="Nodes to run; empty: all.")
    author: str = ""
    language: str = "en"
    strict: bool | None = None


class Finding(Artifact):
    """One problem, where it is, the exact words that show it, and what to do."""

    id: str
    node: str
    category: str
    severity: Severity
    chapter: int | None = None
    scene: int | None = None
    paragraph: int | None = None
    quote: str = ""  # verified to occur in the text; empty for a measure (a short chapter)
    problem: str
    fix: str = ""
    nodes: list[str] = Field(default_factory=list)  # every node that found it (merged)
    reach: int = 1  # chapters it concerns
    struck: bool = False  # the author disagrees: never acted on


class Findings(Artifact):
    """The ranked findings of one analysis; edit it at `--pause-at findings` to strike."""

    findings: list[Finding] = Field(default_factory=list)


class DimensionScore(BaseModel):
    score: float = Field(ge=0, le=10)
    findings: int = 0


class NodeRun(BaseModel):
    name: str
    needs: list[str] = Field(default_factory=list)
    model: bool = False
    seconds: float = 0.0
    asks: int = 0
    cached: bool = False
    findings: int = 0
    note: str = ""


class NodeDef(BaseModel):
    """A node of the analysis graph: what it needs, and (for a model node) its focus."""

    name: str
    needs: list[str] = Field(default_factory=list)
    model: bool = False
    dimension: str
    focus: str = ""  # said to the model: what to look for


def _model(name: str, needs: list[str], dimension: str, focus: str) -> NodeDef:
    return NodeDef(name=name, needs=needs, model=True, dimension=dimension, focus=focus)


BUILTIN_NODES: dict[str, NodeDef] = {
    node.name: node
    for node in [
        NodeDef(name="metrics", dimension="pacing"),
        NodeDef(name="repetition", dimension="style"),
        NodeDef(name="names", dimension="characters"),
        NodeDef(name="pov", dimension="style"),
        NodeDef(name="continuity", needs=["names"], dimension="continuity"),
        _model(
            "structure",
            ["metrics"],
            "structure",
            "plot and structure: scenes that do not move the story, events without cause, "
            "threads dropped, a slack or rushed turn",
        ),
        _model(
            "characters",
            ["names"],
            "characters",
            "characters: motives that are unclear, people acting against what we know of "
            "them, flat or interchangeable voices",
        ),
        _model(
            "pacing",
            ["metrics"],
            "pacing",
            "pacing: passages that drag (summary where a scene is needed, repeated beats) "
            "or rush past what matters",
        ),
        _model(
            "style",
            ["repetition", "pov"],
            "style",
            "style and voice: cliches, vague or abstract wording, telling instead of "
            "showing, a voice that slips",
        ),
        _model(
            "theme",
            ["structure"],
            "theme",
            "theme and genre: what the reader of this genre expects and does not get, and "
            "themes announced but not dramatised",
        ),
    ]
}
DIMENSIONS = ["structure", "characters", "pacing", "style", "continuity", "theme"]

ARTIFACT_TYPES["findings"] = Findings
