"""Tables of the content store. SQLAlchemy Core, so SQLite and Postgres share one schema."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

books = sa.Table(
    "books",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("current_stage", sa.String(40)),
    sa.Column("halted_at", sa.String(40)),
    sa.Column("error", sa.Text),
    sa.Column("error_class", sa.String(40)),
    # What the book's workflow waits for: "resume", "approve:<stage>", or nothing.
    sa.Column("waiting_for", sa.String(60)),
    sa.Column("waiting_workflow", sa.String(200)),  # chapters wait in their own workflow
    sa.Column("wait_token", sa.String(200)),
    sa.Column("pause_requested", sa.Boolean, nullable=False, default=False),
    # The workflow writing the book now: the book's own, or a `retry` of one chapter.
    sa.Column("active_workflow", sa.String(200)),
    # Limits checked before every model call; `resume --budget-usd` raises them.
    sa.Column("budget_usd", sa.Float),
    sa.Column("max_tokens", sa.Integer),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    # Halted by a provider outage: when the provider is probed next, and probes so far.
    sa.Column("next_probe_at", sa.String(40)),
    sa.Column("probes", sa.Integer),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("book_id", sa.String(64), sa.ForeignKey("books.id"), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    # A step may run twice (kill after the write, before the checkpoint): the key makes it once.
    sa.Column("idem_key", sa.String(200), unique=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("book_id", "name", "version"),
)

chapters = sa.Table(
    "chapters",
    metadata,
    sa.Column("book_id", sa.String(64), sa.ForeignKey("books.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("retry_count", sa.Integer, nullable=False, default=0),
    sa.Column("word_count", sa.Integer, nullable=False, default=0),
    sa.Column("target_words", sa.Integer, nullable=False, default=0),
    sa.Column("depends_on", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

llm_requests = sa.Table(
    "llm_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("book_id", sa.String(64), nullable=False, index=True),
    sa.Column("stage", sa.String(40), nullable=False),
    sa.Column("chapter", sa.Integer),
    sa.Column("scene", sa.Integer),
    sa.Column("field", sa.String(80)),
    sa.Column("role", sa.String(20)),
    sa.Column("attempt", sa.Integer),  # of the chapter's quality loop; 0 the first
    sa.Column("retry_level", sa.String(10)),  # edit, write, full; null the first attempt
    sa.Column("prompt_breakdown", sa.JSON),  # tokens per context section, scene drafts
    sa.Column("provider", sa.String(80), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("duration_s", sa.Float),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("completion_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("outcome", sa.String(20)),
    sa.Column("error_class", sa.String(40)),
    sa.Column("error_message", sa.Text),
)

# A field or scene the model gave no acceptable answer for: the book kept going with
# the best answer it got (or a stand-in name), and says so here.
answer_warnings = sa.Table(
    "answer_warnings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("book_id", sa.String(64), nullable=False, index=True),
    sa.Column("stage", sa.String(40), nullable=False),
    sa.Column("chapter", sa.Integer),
    sa.Column("scene", sa.Integer),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("artifact", sa.String(80), nullable=False),
    sa.Column("check", sa.Text, nullable=False),  # why the last answer was refused
    sa.Column("kept", sa.String(20), nullable=False),  # best_answer or stand_in
    sa.Column("value", sa.Text, nullable=False),  # what was kept (its start, for prose)
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("idem_key", sa.String(200), unique=True),  # a step may run twice
    sa.Column("created_at", sa.String(40), nullable=False),
)

# One row per request about to be sent to a rate-limited provider, by any process or
# worker: the sliding window of `[rate_limits.PROVIDER]` is counted here.
rate_slots = sa.Table(
    "rate_slots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(80), nullable=False, index=True),
    sa.Column("sent_at", sa.Float, nullable=False),  # epoch seconds, the database's clock
)
