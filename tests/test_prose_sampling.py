"""The embedded model's prose requests carry llama.cpp's DRY and repeat penalties; short
answers and other providers get none."""

from __future__ import annotations

import pytest

from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.llm.embedded import EmbeddedServer
from bookwright.settings import EmbeddedSettings, ProviderSettings, Settings
from tests.scripted_server import ScriptedServer

REQUEST = CompletionRequest(system="You write.", prompt="Name one.", max_tokens=20,
                            temperature=0.7, seed=1)  # fmt: skip


def test_prose_roles_of_the_local_model_get_the_penalties(
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
        for role in ("writer", "editor", "planner", "judge"):
            client.complete("local", REQUEST, {"role": role})
        client.complete("scripted:m", REQUEST, {"role": "writer"})
        bodies = server.bodies
    writer, editor, planner, judge, other = bodies
    for prose in (writer, editor):
        assert prose["dry_multiplier"] == 0.8 and prose["dry_penalty_last_n"] == 1024
        assert prose["repeat_penalty"] == 1.05 and prose["cache_prompt"] is False
    for short in (planner, judge):
        assert "dry_multiplier" not in short and "repeat_penalty" not in short
        assert short["cache_prompt"] is False
    assert "dry_multiplier" not in other and "cache_prompt" not in other


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
