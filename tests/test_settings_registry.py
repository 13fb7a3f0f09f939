"""Settings files, environment, and resolving --model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookwright.errors import ConfigError
from bookwright.llm.errors import classify, redact
from bookwright.llm.registry import parse_model
from bookwright.settings import Settings, load_settings


def test_settings_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        'default_model = "ollama:llama3"\n[llm]\ntimeout_s = 12\nattempts = 5\n'
        '[providers.ollama]\nbase_url = "http://localhost:11434/v1"\n'
        "[embedded]\nthreads = 3\n"
    )
    monkeypatch.setenv("BOOKWRIGHT_DEFAULT_MODEL", "groq:llama")
    settings = load_settings(path)
    assert settings.default_model == "groq:llama"  # the environment wins over the file
    assert settings.llm.timeout_s == 12 and settings.llm.attempts == 5
    assert settings.embedded.threads == 3
    assert settings.providers["ollama"].base_url == "http://localhost:11434/v1"


def test_settings_home_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKWRIGHT_HOME", str(tmp_path))
    (tmp_path / "bookwright.toml").write_text('default_model = "groq:llama"\n')
    settings = load_settings()
    assert settings.home == tmp_path and settings.default_model == "groq:llama"
    assert settings.store_url == f"sqlite:///{tmp_path / 'bookwright.sqlite'}"


@pytest.mark.parametrize(
    "content", [None, "x = = 1", "[llm]\ntimeout_s = 'soon'", "[llm]\nretries = 3"]
)
def test_bad_settings_file(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "b.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in caught.value.message


def test_parse_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = Settings(providers={"vllm": {"base_url": "http://h:8000/v1"}})
    assert parse_model("local", settings).is_local
    ref = parse_model("vllm:qwen", settings)
    assert (ref.kind, ref.provider, ref.model_name, ref.base_url) == (
        "compatible",
        "vllm",
        "qwen",
        "http://h:8000/v1",
    )
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        parse_model("anthropic:claude", settings)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert parse_model("anthropic:claude", settings).kind == "hosted"
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    assert parse_model("gemini:flash", settings).api_key_env == "GOOGLE_API_KEY"
    with pytest.raises(ConfigError, match="Unknown provider 'x'") as caught:
        parse_model("x:y", settings)
    assert "vllm" in caught.value.one_line()  # the remedy lists the providers that exist
    with pytest.raises(ConfigError, match="names no model"):
        parse_model("vllm:", settings)


def test_error_classes_and_redaction() -> None:
    from pydantic_ai import exceptions as x

    assert classify(x.ModelHTTPError(429, "m"))[0] == "rate_limit"
    assert classify(x.ModelHTTPError(503, "m"))[0] == "server"
    assert classify(x.ModelHTTPError(401, "m"))[0] == "auth"
    assert classify(ConnectionRefusedError("refused"))[0] == "network"
    assert classify(TimeoutError())[0] == "timeout"
    assert "sk-abcdef123456" not in redact("bad key sk-abcdef123456 given")
    assert "[redacted]" in redact("Authorization: Bearer abc.def")
