"""Which model a `--model` string names, and whether it can be used (keys, providers)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bookwright.errors import ConfigError
from bookwright.settings import Settings

LOCAL = "local"

# Hosted providers: our name -> (pydantic-ai provider name, environment variable of the key).
HOSTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai": ("openai", ("OPENAI_API_KEY",)),
    "anthropic": ("anthropic", ("ANTHROPIC_API_KEY",)),
    "gemini": ("google-gla", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    "google": ("google-gla", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    "groq": ("groq", ("GROQ_API_KEY",)),
    "openrouter": ("openrouter", ("OPENROUTER_API_KEY",)),
}

# In-process models (tests, library users): provider name -> factory of a pydantic-ai Model.
CUSTOM_MODELS: dict[str, Callable[[str], Any]] = {}


@dataclass(frozen=True)
class ModelRef:
    """A resolved `--model` value: where requests go, and under which names they are logged."""

    spec: str
    provider: str
    model_name: str
    kind: str  # "local", "hosted", "compatible" or "custom"
    base_url: str | None = None
    api_key_env: str | None = None
    usd_per_mtok: tuple[float, float] | None = None  # declared (input, output) prices

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def parse_model(spec: str, settings: Settings) -> ModelRef:
    """Resolve `spec`; raise ConfigError naming what to fix when it cannot be used."""
    spec = spec.strip()
    if spec == LOCAL:
        gguf = settings.embedded.gguf_path
        name = os.path.basename(gguf).removesuffix(".gguf") if gguf else "smollm2-135m-instruct"
        return ModelRef(spec, LOCAL, name, "local")
    if ":" not in spec:
        raise ConfigError(
            f"Unknown model {spec!r}",
            "Use --model local, or PROVIDER:MODEL such as openai:gpt-4o-mini "
            f"(providers: {', '.join(sorted(_provider_names(settings)))})",
        )
    provider, model_name = spec.split(":", 1)
    if not model_name:
        raise ConfigError(f"Model {spec!r} names no model after the colon", "Use PROVIDER:MODEL")
    if provider in CUSTOM_MODELS:
        return ModelRef(spec, provider, model_name, "custom")
    if provider in settings.providers:
        declared = settings.providers[provider]
        if declared.api_key_env and not os.environ.get(declared.api_key_env):
            raise ConfigError(
                f"No API key for provider {provider!r}: {declared.api_key_env} is not set",
                f"Set the {declared.api_key_env} environment variable",
            )
        prices = None
        if declared.input_usd_per_mtok is not None or declared.output_usd_per_mtok is not None:
            prices = (declared.input_usd_per_mtok or 0.0, declared.output_usd_per_mtok or 0.0)
        return ModelRef(
            spec,
            provider,
            model_name,
            "compatible",
            declared.base_url,
            declared.api_key_env,
            prices,
        )
    if provider in HOSTED:
        _, env_names = HOSTED[provider]
        if not any(os.environ.get(name) for name in env_names):
            raise ConfigError(
                f"No API key for {provider}: {' or '.join(env_names)} is not set",
                f"Set the {env_names[0]} environment variable",
            )
        present = next(name for name in env_names if os.environ.get(name))
        return ModelRef(spec, provider, model_name, "hosted", api_key_env=present)
    raise ConfigError(
        f"Unknown provider {provider!r} in --model {spec}",
        f"Use one of {', '.join(sorted(_provider_names(settings)))}, or declare "
        f"[providers.{provider}] with base_url in bookwright.toml",
    )


def _provider_names(settings: Settings) -> set[str]:
    return {LOCAL, *HOSTED, *settings.providers, *CUSTOM_MODELS}


def build_model(ref: ModelRef, *, local_url: str | None = None, local_key: str | None = None):
    """The pydantic-ai Model for `ref`. Call it inside the event loop that will use it."""
    from pydantic_ai.models import infer_model
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if ref.kind == "custom":
        return CUSTOM_MODELS[ref.provider](ref.model_name)
    if ref.kind == "local":
        provider = OpenAIProvider(base_url=f"{local_url}/v1", api_key=local_key)
        return OpenAIChatModel(ref.model_name, provider=provider)
    if ref.kind == "compatible":
        key = os.environ.get(ref.api_key_env, "") if ref.api_key_env else "none"
        provider = OpenAIProvider(base_url=ref.base_url, api_key=key or "none")
        return OpenAIChatModel(ref.model_name, provider=provider)
    pai_provider, _ = HOSTED[ref.provider]
    return infer_model(f"{pai_provider}:{ref.model_name}")
