"""Typed settings: environment (BOOKWRIGHT_*), then a TOML file, then defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bookwright import redaction
from bookwright.errors import ConfigError, first_error
from bookwright.quality.settings import QualitySettings

SETTINGS_FILE_NAME = "bookwright.toml"


class ProviderSettings(BaseModel):
    """An OpenAI-compatible server: `[providers.NAME] base_url=..., api_key_env=...`."""

    base_url: str = Field(description="Base URL of the OpenAI-compatible API, ending in /v1.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable that holds the API key, if any."
    )
    input_usd_per_mtok: float | None = Field(
        default=None, ge=0, description="Price of a million prompt tokens, for budgets."
    )
    output_usd_per_mtok: float | None = Field(
        default=None, ge=0, description="Price of a million completion tokens, for budgets."
    )


class EmbeddedSettings(BaseModel):
    """The embedded llama.cpp engine behind `--model local`."""

    gguf_path: str | None = Field(
        default=None, description="GGUF file to serve; default SmolLM2-135M-Instruct."
    )
    threads: int = Field(default=0, description="CPU threads; 0 means all cores.")
    context_size: int = Field(default=4096, description="Context window in tokens.")
    dry_multiplier: float = Field(
        default=0.8,
        ge=0,
        description="DRY penalty on repeated phrases in prose and plan sentences; 0 is off.",
    )
    repeat_penalty: float = Field(
        default=1.05, ge=1, description="Penalty on recent tokens in running text; 1 is none."
    )
    name_lists: bool = Field(
        default=True,
        description=(
            "Characters' and places' names are picked by the model from seeded lists (a "
            "grammar): the 135M model invents none. Turn off for a bigger GGUF."
        ),
    )


Role = Literal["planner", "writer", "editor", "judge"]
ROLES: tuple[Role, ...] = ("planner", "writer", "editor", "judge")


class RoleSettings(BaseModel):
    """`[llm.roles.writer] model = "...", fallback = [...]`: one role's own model and chain."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="Model for this role; default the book's.")
    fallback: list[str] | None = Field(
        default=None, description="Models tried in order when it fails; default llm.fallback."
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Timeout of one request of this role; default llm's."
    )


class LLMSettings(BaseModel):
    """How model calls are retried, timed out and handed to the next model of a chain."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Most attempts per model and step; llm.retry_budget_s usually ends first.",
    )
    retry_budget_s: float = Field(
        default=600.0,
        ge=0,
        description="Seconds one call retries a model's transient faults before the next model.",
    )
    empty_retries: int = Field(
        default=2, ge=0, le=20, description="Resends of an empty answer before it is re-asked."
    )
    auto_resume: bool = Field(
        default=True,
        description="A book halted by a provider outage probes it and resumes by itself.",
    )
    probe_s: float = Field(
        default=30.0, gt=0, description="First wait before probing a provider that is down."
    )
    probe_max_s: float = Field(
        default=900.0,
        gt=0,
        description="Longest wait between probes; each is backoff_factor longer.",
    )
    backoff_s: float = Field(default=3.0, ge=0, description="Wait before the first retry.")
    backoff_factor: float = Field(default=2.0, ge=1, description="Each wait is this much longer.")
    backoff_max_s: float = Field(default=120.0, ge=0, description="Longest wait between tries.")
    jitter: float = Field(
        default=0.25, ge=0, le=1, description="Random +/- fraction of each wait (no herds)."
    )
    timeout_s: float = Field(default=300.0, gt=0, description="Timeout of one request.")
    fallback: list[str] = Field(
        default_factory=list, description="Models tried in order after the book's model fails."
    )
    roles: dict[Role, RoleSettings] = Field(
        default_factory=dict, description="Per-role model, chain and timeout."
    )

    def chain(self, role: str | None, book_model: str) -> list[str]:
        """The models one step of `role` tries, in order, without repeats."""
        own = self.roles.get(role) if role in ROLES else None  # type: ignore[call-overload]
        first = (own.model if own and own.model else None) or book_model
        rest = own.fallback if own and own.fallback is not None else self.fallback
        chain: list[str] = []
        for spec in (first, *rest):
            if spec not in chain:
                chain.append(spec)
        return chain

    def timeout_for(self, role: str | None) -> float:
        own = self.roles.get(role) if role in ROLES else None  # type: ignore[call-overload]
        return own.timeout_s if own and own.timeout_s else self.timeout_s


class WebSettings(BaseModel):
    """`bookwright serve`: the dashboard and REST API."""

    model_config = ConfigDict(extra="forbid")

    max_running_books: int = Field(
        default=2, ge=1, le=64, description="Books the server writes at once; more wait in a queue."
    )


class WorkerSettings(BaseModel):
    """`bookwright worker` on Postgres: how many books are written at once."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(
        default=2, ge=1, le=256, description="Books each worker writes at once (all workers)."
    )
    max_books: int | None = Field(
        default=None, ge=1, description="Books all workers together write at once; none: no cap."
    )
    executor_id: str | None = Field(
        default=None, description="This worker's DBOS executor id; default worker-HOSTNAME."
    )


class RetentionSettings(BaseModel):
    """`[retention]`: the defaults of `bookwright gc`."""

    model_config = ConfigDict(extra="forbid")

    older_than_days: float = Field(
        default=30, ge=0, description="gc touches completed books untouched for this many days."
    )
    keep_versions: int = Field(
        default=3, ge=1, description="Versions of each artifact gc keeps (latest included)."
    )
    automatic: bool = Field(
        default=True, description="`serve` and `worker` run gc with these defaults on their own."
    )
    every_hours: float = Field(
        default=24, gt=0, description="How often `serve` and `worker` run it (first after 10 min)."
    )


class ReviewNode(BaseModel):
    """`[review.nodes.NAME]`: a model node of the review's analysis graph."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=10, description="What the node looks for, said to the model.")
    needs: list[str] = Field(default_factory=list, description="Nodes whose findings it reads.")
    dimension: str = Field(default="", description="The score it counts in (default: its name).")


class ReviewSettings(BaseModel):
    """`[review]`: the `review` job's analysis graph."""

    model_config = ConfigDict(extra="forbid")

    passage_words: int = Field(
        default=700, ge=100, le=5000, description="Words of text a model node reads per ask."
    )
    node_timeout_s: float = Field(
        default=3600, gt=0, description="A node stops asking after this long (its findings kept)."
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Independent nodes (of one group of the graph) analysed at once, each a "
        "child workflow; more than 1 pays with a hosted model (the embedded one answers one "
        "request at a time).",
    )
    nodes: dict[str, ReviewNode] = Field(default_factory=dict, description="Nodes to add.")
    levels: dict[str, Literal["edit", "write"]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "style": "edit",
            "continuity": "edit",
            "characters": "write",
            "pacing": "write",
            "structure": "write",
            "theme": "write",
        },
        description="`--revise`: the level a finding of each dimension is fixed at first: "
        "edit (its paragraph reworded) or write (the passage around it redrafted). A "
        "finding still there after its fix is tried once more a level up, then left.",
    )
    passages_per_iteration: int = Field(
        default=3, ge=1, le=50, description="`--revise`: passages revised per iteration."
    )
    min_gain: float = Field(
        default=0.2, ge=0, description="`--revise`: a gain of the overall score below this..."
    )
    plateau_iterations: int = Field(
        default=2, ge=1, description="...for this many iterations in a row stops the revision."
    )

    @model_validator(mode="after")
    def _acyclic(self) -> ReviewSettings:
        from graphlib import CycleError, TopologicalSorter

        from bookwright.model.review import BUILTIN_NODES

        known = set(BUILTIN_NODES) | set(self.nodes)
        for name, node in self.nodes.items():
            if name in BUILTIN_NODES:
                raise ValueError(f"{name!r} is a built-in node; give yours another name")
            for need in node.needs:
                if need not in known:
                    raise ValueError(f"node {name!r} needs {need!r}, which is no node")
        try:
            TopologicalSorter({n: node.needs for n, node in self.nodes.items()}).prepare()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise ValueError(f"the review nodes form a cycle: {cycle}") from None
        return self


class RateLimit(BaseModel):
    """`[rate_limits.PROVIDER] requests = 500`: a quota shared by every process and worker."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1, description="Requests sent to the provider per period, in all.")
    period_s: float = Field(default=60.0, gt=0, description="The sliding window, in seconds.")


class Settings(BaseSettings):
    """Everything configurable, each with its help text."""

    model_config = SettingsConfigDict(env_prefix="BOOKWRIGHT_", env_nested_delimiter="__")

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("bookwright")),
        description="Workspace: databases, books and exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="Content store and DBOS system database URL; default SQLite in the home.",
    )
    default_model: str = Field(default="local", description="Model used when --model is absent.")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict, description="OpenAI-compatible servers by name."
    )
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=dict, description="Per provider (`local`, `openai`, a [providers] name)."
    )

    def model_post_init(self, context: Any, /) -> None:
        # A declared server's key is as secret as a hosted provider's: never stored or shown.
        redaction.watch(p.api_key_env for p in self.providers.values() if p.api_key_env)

    def system_database_url(self, book_id: str | None = None) -> str:
        """DBOS's database. On SQLite each book has its own, in its folder: recovery then
        never hands one book's workflows to a process writing another."""
        if self.database_url:
            return self.database_url
        if book_id is None:
            return f"sqlite:///{self.home / 'dbos.sqlite'}"
        return f"sqlite:///{self.book_dir(book_id) / 'dbos.sqlite'}"

    @property
    def on_postgres(self) -> bool:
        """Shared database: books are written by `bookwright worker` processes."""
        return (self.database_url or "").startswith(("postgresql", "postgres:"))

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'bookwright.sqlite'}"

    def book_dir(self, book_id: str) -> Path:
        return self.home / "books" / book_id


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the environment, `path` (or `bookwright.toml` in the home) and defaults.

    An explicit file that is missing, unreadable or invalid raises ConfigError.
    """
    file_values: dict[str, Any] = {}
    if path is None:
        home = Path(os.environ.get("BOOKWRIGHT_HOME") or platformdirs.user_data_dir("bookwright"))
        candidate = home / SETTINGS_FILE_NAME
        if candidate.exists():
            path = candidate
    if path is not None:
        file_values = _read_toml(path)
    try:
        # Environment wins over the file: pydantic-settings gives init kwargs priority, so
        # only pass file values that the environment does not set.
        env_keys = {
            k[len("BOOKWRIGHT_") :].lower().split("__")[0]
            for k in os.environ
            if k.startswith("BOOKWRIGHT_")
        }
        kwargs = {k: v for k, v in file_values.items() if k not in env_keys}
        settings = Settings(**kwargs)
    except ValidationError as exc:
        first = first_error(exc)
        raise ConfigError(
            f"Invalid setting {first.where!r} in {path or 'the environment'}: {first.msg}",
            "Fix the value and run the command again",
        ) from None
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read settings file {path}: {exc.strerror or exc}",
            "Check the path given to --settings",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Settings file {path} is not UTF-8 text (byte {exc.start})",
            "Save it as UTF-8 and run again",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Settings file {path} is not valid TOML: {exc}", "Fix the file and run again"
        ) from None
