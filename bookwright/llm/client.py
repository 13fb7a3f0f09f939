"""One completion call: messages in, text and usage out, every request recorded.

The pipeline is synchronous (DBOS runs workflows in threads); pydantic-ai is async.
A private event loop on its own thread runs every request, so models and their HTTP
clients live on one loop for the life of the process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bookwright.errors import ConfigError, ProviderError
from bookwright.llm.embedded import EmbeddedServer
from bookwright.llm.errors import classify, retry_after
from bookwright.llm.registry import ModelRef, build_model, parse_model
from bookwright.llm.usage import cost_usd
from bookwright.settings import EmbeddedSettings, Settings

CONTINUE_PROMPT = "Continue exactly where your text stops. Do not repeat anything."


def prose_sampling(embedded: EmbeddedSettings) -> dict[str, float | int | list[str]]:
    """llama.cpp's penalties for running text (prose, and a plan's sentences): DRY stops a
    small model's loops ("the keeper's gaze wandered up to a window, and the keeper's gaze
    wandered up to a window") and its copying of the prompt (DRY looks back over the prompt
    too), a mild repeat penalty its stock words. Short answers (names, titles, lists, fact
    lines) get none: they must repeat the prompt's words."""
    sampling: dict[str, float | int | list[str]] = {
        "repeat_penalty": embedded.repeat_penalty,
        "repeat_last_n": 128,
    }
    if embedded.dry_multiplier > 0:  # last_n 0 would turn DRY off: look back 1024 tokens
        sampling.update(dry_multiplier=embedded.dry_multiplier, dry_base=1.75)
        sampling.update(dry_allowed_length=2, dry_penalty_last_n=1024)
        # llama.cpp ends a repeat at a newline, a colon, a quote mark or an asterisk; a
        # colon let the 135M model loop "A tale of survival: A tale of survival: ..."
        # under a penalty that never grew past three tokens. A quote mark still ends one
        # (dialogue repeats who speaks), and a newline.
        sampling["dry_sequence_breakers"] = ["\n", '"']
    return sampling


@dataclass(frozen=True)
class CompletionRequest:
    system: str
    prompt: str
    max_tokens: int
    temperature: float
    seed: int
    partial: str = ""  # a truncated answer to continue: sent back as the model's own turn
    # A GBNF grammar the answer must follow (a name from lists): only the embedded model
    # takes one, when `embedded.name_lists` is on; other providers get the prompt alone.
    grammar: str = ""
    # Running text (prose, a plan's sentences): the embedded model samples it with DRY and
    # repeat penalties (prose_sampling); short answers are sampled plain.
    penalties: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    provider: str
    model: str
    duration_s: float
    request_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestRecorder(Protocol):
    """Where each request really sent is written, before and after it is sent."""

    def request_started(self, **fields: Any) -> int: ...

    def request_finished(self, request_id: int, **fields: Any) -> None: ...


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="bookwright-llm-loop"
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class LLMClient:
    """Sends completion requests to the model a spec names, and records each one."""

    def __init__(self, settings: Settings, recorder: RequestRecorder | None = None) -> None:
        self.settings = settings
        self.recorder = recorder
        self._loop: _LoopThread | None = None
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _run(self, coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()
        return self._loop.run(coro_fn())

    def _model(self, ref: ModelRef) -> Any:
        with self._lock:
            model = self._models.get(ref.spec)
        if model is not None:
            return model
        url = key = None
        if ref.is_local:
            url, key = EmbeddedServer.endpoint(self.settings.embedded)

        async def build() -> Any:
            return build_model(ref, local_url=url, local_key=key)

        model = self._run(build)
        with self._lock:
            self._models[ref.spec] = model
        return model

    def complete(
        self,
        model_spec: str,
        request: CompletionRequest,
        tags: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Completion:
        """Send one request. Raises ProviderError (classified) or ConfigError (auth)."""
        from pydantic_ai.direct import model_request
        from pydantic_ai.messages import (
            ModelRequest,
            ModelResponse,
            SystemPromptPart,
            TextPart,
            UserPromptPart,
        )

        ref = parse_model(model_spec, self.settings)
        model = self._model(ref)
        messages: list[Any] = [
            ModelRequest(parts=[SystemPromptPart(request.system), UserPromptPart(request.prompt)])
        ]
        if request.partial:
            messages += [
                ModelResponse(parts=[TextPart(request.partial)]),
                ModelRequest(parts=[UserPromptPart(CONTINUE_PROMPT)]),
            ]
        model_settings: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "max_retries": 0,  # retries are ours, per step; SDK retries would multiply them
            "timeout": timeout_s or self.settings.llm.timeout_s,
        }
        if ref.is_local:
            # A fresh prompt evaluation every time: cached KV state would make output
            # depend on what ran before, and break byte-identical resumes.
            model_settings["extra_body"] = {"cache_prompt": False}
            if request.penalties:
                model_settings["extra_body"].update(prose_sampling(self.settings.embedded))
            if request.grammar and self.settings.embedded.name_lists:
                model_settings["extra_body"]["grammar"] = request.grammar
        request_id = None
        if self.recorder is not None:
            request_id = self.recorder.request_started(
                provider=ref.provider, model=ref.model_name, **(tags or {})
            )
        started = time.monotonic()
        try:
            response = self._run(
                lambda: model_request(model, messages, model_settings=model_settings)  # type: ignore[arg-type]
            )
        except Exception as exc:
            error_class, message = classify(exc)
            if self.recorder is not None and request_id is not None:
                self.recorder.request_finished(
                    request_id,
                    outcome="error",
                    error_class=error_class,
                    error_message=message[:2000],
                    duration_s=time.monotonic() - started,
                )
            if error_class == "auth":
                raise ConfigError(
                    f"{ref.provider} rejected the API key ({message})",
                    f"Check {ref.api_key_env or 'the API key'}, then run `bookwright resume`",
                ) from None
            raise ProviderError(
                f"{ref.spec} failed ({error_class}): {message}",
                provider=ref.provider,
                error_class=error_class,
                retry_after=retry_after(exc),
            ) from None
        text = "".join(
            getattr(p, "content", "") for p in response.parts if type(p).__name__ == "TextPart"
        )
        usage = response.usage
        completion = Completion(
            text=text,
            finish_reason=response.finish_reason,
            prompt_tokens=int(usage.input_tokens or 0),
            completion_tokens=int(usage.output_tokens or 0),
            provider=ref.provider,
            model=ref.model_name,
            duration_s=time.monotonic() - started,
            request_id=request_id,
        )
        if self.recorder is not None and request_id is not None:
            self.recorder.request_finished(
                request_id,
                outcome="ok" if text.strip() else "empty",
                error_class=None if text.strip() else "empty",
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=cost_usd(ref, completion.prompt_tokens, completion.completion_tokens),
                duration_s=completion.duration_s,
            )
        # An empty answer is returned, not raised: the caller re-asks with a new seed,
        # where resending the identical request would pay again for the same nothing.
        return completion
