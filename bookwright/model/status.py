"""Book and chapter states, and the status contract every face reads."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class BookState(StrEnum):
    initialized = "initialized"
    processing = "processing"
    halted = "halted"
    paused = "paused"
    harmonizing = "harmonizing"
    completed = "completed"
    failed = "failed"


class ChapterState(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    generated = "generated"
    harmonized = "harmonized"
    completed = "completed"
    failed = "failed"


class ChapterStatus(BaseModel):
    number: int
    title: str
    status: ChapterState
    retry_count: int = 0
    word_count: int = 0
    target_words: int = 0
    depends_on: list[int] = []


class LLMUsage(BaseModel):
    requests_sent: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    errors_recovered: int = 0
    errors_by_class: dict[str, int] = {}
    # Each: requests, answered, errors, prompt_tokens, completion_tokens, cost_usd.
    by_provider: dict[str, dict[str, float]] = {}
    by_stage: dict[str, dict[str, float]] = {}
    budget_usd: float | None = None
    max_tokens: int | None = None


class Cost(BaseModel):
    """What the book has cost per 1,000 words of it so far, and where the tokens went."""

    words: int = 0  # the chapters' words so far
    requests_per_1k_words: float | None = None  # None until a word is written
    prompt_tokens_per_1k_words: float | None = None
    completion_tokens_per_1k_words: float | None = None
    tokens_per_1k_words: float | None = None
    # Shares of all tokens (0-1): answers the checks refused (re-asked), retries of the
    # quality loop, and each role (planner, writer, editor, judge).
    refused_share: float = 0.0
    refused_requests_share: float = 0.0  # of the requests (not tokens): answers refused
    retry_share: float = 0.0
    role_share: dict[str, float] = {}


class Retries(BaseModel):
    """The quality loop: retries by level, what they cost, how often the judge passed."""

    edit_only: int = 0
    write_only: int = 0
    full_retry: int = 0
    tokens_by_level: dict[str, int] = {}  # first (the first attempt), edit, write, full
    verdicts: int = 0
    passed: int = 0
    judge_pass_rate: float | None = None  # passed / verdicts
    failed_chapters: list[int] = []
    accepted_chapters: list[int] = []  # failed, then kept as they are (`approve --chapter`)


class AnswerWarning(BaseModel):
    """A field or scene the model gave no acceptable answer for: the book kept going."""

    stage: str
    chapter: int | None = None
    scene: int | None = None
    field: str  # the question, e.g. characters.antagonist.name, write
    artifact: str  # where the answer went: plan, characters, draft:1:2, ...
    check: str  # why the last answer was refused
    kept: str  # best_answer (the most usable one that came back) or stand_in
    value: str  # what was kept (its start, for prose)
    attempts: int = 0


class ProviderWait(BaseModel):
    """A book halted by a provider outage, probing it to resume by itself."""

    next_probe_at: str  # ISO time of the next probe
    probes: int = 0  # probes sent so far, none answered


class StatusReport(BaseModel):
    """`bookwright status --json` and `GET /api/books/{id}` return this object."""

    book_id: str
    title: str
    job: str = "novel"  # the job its spec names: novel, review, sources
    notices: list[str] = Field(default_factory=list)  # what the job wants a person to see
    status: BookState
    progress_percentage: float
    current_stage: str | None
    halted_at: str | None
    chapters: list[ChapterStatus]
    scenes_total: int
    scenes_written: int
    scenes_edited: int
    llm: LLMUsage
    cost: Cost = Cost()
    retries: Retries
    model: str
    error: str | None
    error_class: str | None = None
    created_at: str
    updated_at: str
    estimated_completion: str | None
    running: bool = False  # a process on this machine is writing the book right now
    provider_wait: ProviderWait | None = None  # halted on an outage, resumes by itself
    warnings: list[AnswerWarning] = []  # answers kept without passing their checks
