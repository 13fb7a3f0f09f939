"""A scripted pydantic-ai model (FunctionModel) for in-process unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from bookwright.llm.registry import CUSTOM_MODELS
from tests.scripted_server import answer


def last_prompt(messages: list[ModelMessage]) -> str:
    request = messages[-1]
    assert isinstance(request, ModelRequest)
    return "".join(str(p.content) for p in request.parts if isinstance(p, UserPromptPart))


@contextmanager
def scripted_model(reply: Callable[[str], str] = answer, name: str = "fn") -> Iterator[list[str]]:
    """Register `--model fn:any` answering each prompt with `reply`; yields the prompts seen."""
    prompts: list[str] = []

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = last_prompt(messages)
        prompts.append(prompt)
        return ModelResponse(parts=[TextPart(reply(prompt))])

    CUSTOM_MODELS[name] = lambda model_name: FunctionModel(respond, model_name=model_name)
    try:
        yield prompts
    finally:
        CUSTOM_MODELS.pop(name, None)
