"""The embedded model's running-text requests (prose, a plan's sentences) carry llama.cpp's
DRY and repeat penalties; short answers and other providers get none."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.llm.embedded import EmbeddedServer
from bookwright.settings import EmbeddedSettings, ProviderSettings, Settings
from tests.scripted_server import ScriptedServer

REQUEST = CompletionRequest(system="You write.", prompt="Name one.", max_tokens=20,
                            temperature=0.7, seed=1)  # fmt: skip


def test_running_text_of_the_local_model_gets_the_penalties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ScriptedServer() as server:
        # The scripted server stands in for the embedded one: the same OpenAI wire format.
        url = server.base_url.removesuffix("/v1")
        monkeypatch.setattr(EmbeddedServer, "endpoint", classmethod(lambda cls, s: (url, "k")))
        settings = Settings(
            embedded=EmbeddedSettings(dry_multiplier=0.8, repeat_penalty=1.05),
            providers={"scripted": ProviderSettings(base_url=server.base_url)},
        )
        client = LLMClient(settings)
        running = replace(REQUEST, penalties=True)
        client.complete("local", running, {"role": "writer"})
        client.complete("local", running, {"role": "planner"})
        client.complete("local", REQUEST, {"role": "writer"})
        client.complete("local", REQUEST, {"role": "judge"})
        client.complete("scripted:m", running, {"role": "writer"})
        bodies = server.bodies
    prose, sentences, short, verdict, other = bodies
    for text in (prose, sentences):
        assert text["dry_multiplier"] == 0.8 and text["dry_penalty_last_n"] == 1024
        assert text["repeat_penalty"] == 1.05 and text["cache_prompt"] is False
        assert text["dry_sequence_breakers"] == ["\n", '"']  # a colon does not end a loop
    for plain in (short, verdict):
        assert "dry_multiplier" not in plain and "repeat_penalty" not in plain
        assert plain["cache_prompt"] is False
    assert "dry_multiplier" not in other and "cache_prompt" not in other


def test_prose_and_sentences_asks_ask_for_the_penalties() -> None:
    """ask_until_valid marks running text for the penalties, and nothing else."""
    from bookwright.stages.answers import ask_until_valid
    from bookwright.stages.asks import Ask

    sent: list[dict[str, object]] = []

    def send(request: dict[str, object]) -> tuple[str, str | None]:
        sent.append(request)
        answers = {"prose": "She ran to the door. " * 3, "sentences": "A keeper finds a diary."}
        return answers.get(kind, "Ada Lane"), "stop"

    firsts = []
    for kind in ("prose", "sentences", "title", "list"):
        question = Ask("x", "planner", "plan_field.j2", {"field": "logline", "known": {},
                       "genre": "g", "premise": "p"}, kind, 40, fallback="",
                       extra={"attempts": 1})  # fmt: skip
        ask_until_valid(question, send, temperature=0.7, seed=1)
        firsts.append(sent[-1].get("penalties", False))
    assert firsts == [True, True, False, False]


def test_dry_off_sends_no_dry_fields() -> None:
    from bookwright.llm.client import prose_sampling

    sampling = prose_sampling(EmbeddedSettings(dry_multiplier=0, repeat_penalty=1.0))
    assert sampling == {"repeat_penalty": 1.0, "repeat_last_n": 128}


def test_a_name_grammar_reaches_the_local_model_only(monkeypatch: pytest.MonkeyPatch) -> None:
    named = CompletionRequest(**{**REQUEST.as_dict(), "grammar": 'root ::= "Ann Lee"'})
    with ScriptedServer() as server:
        url = server.base_url.removesuffix("/v1")
        monkeypatch.setattr(EmbeddedServer, "endpoint", classmethod(lambda cls, s: (url, "k")))
        providers = {"scripted": ProviderSettings(base_url=server.base_url)}
        LLMClient(Settings(providers=providers)).complete("local", named, {"role": "planner"})
        LLMClient(Settings(providers=providers)).complete("scripted:m", named, {"role": "planner"})
        off = Settings(embedded=EmbeddedSettings(name_lists=False), providers=providers)
        LLMClient(off).complete("local", named, {"role": "planner"})
        local, remote, turned_off = server.bodies
    assert local["grammar"] == 'root ::= "Ann Lee"'
    assert "grammar" not in remote and "grammar" not in turned_off
