"""What the `adapt` job records: a book's events, the treatment and its critique, the
screen scenes, the screenplay and the storyboard. Each is an artifact you can halt at,
edit and approve; registered in ARTIFACT_TYPES so edits are checked like an outline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact, check_numbered

ADAPT_STAGES = ["events", "treatment", "critique", "scenes", "screenplay", "storyboard"]
AdaptStage = Literal["events", "treatment", "critique", "scenes", "screenplay", "storyboard"]
SHOTS = ["WS", "MS", "CU", "OTS", "POV", "INSERT"]


class AdaptSpec(BaseModel):
    job: Literal["adapt"] = "adapt"
    book: str = Field(description="The book adapted.")
    title: str = Field(min_length=1, max_length=200)
    author: str = ""
    minutes: int = Field(default=90, ge=1, le=240)
    form: Literal["feature", "episode", "short"] = "feature"
    pause_at: list[AdaptStage] = Field(default_factory=list)
    model: str = "local"
    seed: int = 42
    temperature: float = 0.5
    language: str = "en"
    strict: bool | None = None


class Event(Artifact):
    id: str
    text: str = Field(min_length=1)
    chapter: int = Field(ge=1)
    scene: int = Field(ge=1)
    causes: list[str] = Field(default_factory=list)  # earlier events it follows from


class Events(Artifact):
    events: list[Event] = Field(min_length=1)


class Act(Artifact):
    number: int = Field(ge=1)
    summary: str = Field(min_length=1)
    events: list[str] = Field(min_length=1)


class Treatment(Artifact):
    acts: list[Act] = Field(min_length=1)


class Critique(Artifact):
    passed: bool
    coverage: float = Field(ge=0, le=1)
    estimated_minutes: float = 0
    issues: list[str] = Field(default_factory=list)
    judged: bool = False  # the model's verdict counted; False: the rule checks alone
    round: int = Field(default=1, ge=1)  # which writing of the treatment it judged
    redo: bool = False  # failed for what a new treatment can fix (not the scenes' time)


class ScreenScene(Artifact):
    number: int = Field(ge=1)
    slugline: str = Field(
        pattern=r"^(INT\.|EXT\.|INT\./EXT\.) .+ - (DAY|NIGHT|DAWN|DUSK|MORNING|EVENING|CONTINUOUS)$"
    )
    characters: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    chapter: int = Field(ge=1)
    scenes: list[int] = Field(min_length=1)  # the book's scenes it dramatises
    pages: float = Field(gt=0, description="Target length; a page is about a minute.")


class Cut(Artifact):
    event: str
    reason: str = Field(min_length=1)


class ScreenScenes(Artifact):
    scenes: list[ScreenScene] = Field(min_length=1)
    cut: list[Cut] = Field(default_factory=list)

    @model_validator(mode="after")
    def _numbered(self) -> ScreenScenes:
        check_numbered([s.number for s in self.scenes], "scenes")
        return self


class Screenplay(Artifact):
    """The script as Fountain text; `approve --edit` parses it and refuses it with the
    line number of what is wrong."""

    fountain: str = Field(min_length=1)

    @model_validator(mode="after")
    def _parses(self) -> Screenplay:
        from bookwright.jobs.adapt.fountain import problems

        found = problems(self.fountain)
        if found:
            raise ValueError(found[0])
        return self


class Panel(Artifact):
    scene: int = Field(ge=1)
    number: int = Field(ge=1)
    shot: Literal["WS", "MS", "CU", "OTS", "POV", "INSERT"]
    camera: str = "static"
    characters: list[str] = Field(default_factory=list)
    action: str = ""
    dialogue: list[str] = Field(default_factory=list)
    seconds: float = Field(gt=0)


class Storyboard(Artifact):
    panels: list[Panel] = Field(min_length=1)


ARTIFACT_TYPES.update(
    events=Events,
    treatment=Treatment,
    critique=Critique,
    screen_scenes=ScreenScenes,
    screenplay=Screenplay,
    storyboard=Storyboard,
)
