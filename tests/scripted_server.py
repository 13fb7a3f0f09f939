"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers bookwright's prompts
with deterministic, valid scripted text. Used to drive the CLI in subprocesses fast.

Answers depend only on the request, so a resumed run gets the same text as a clean one.
`delay_s` slows every answer (so a SIGKILL can land mid-request); `fail_status` makes
every request fail with that HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NAMES = {  # most specific role words first: "the villain who works against the hero"
    "villain": "Tobias Grent",
    "friend": "Ines Alder",
    "teacher": "Oren Vale",
    "rival": "Petra Lind",
    "hero": "Mara Quill",
}
PLACES = ["The North Tower", "Gull Rock Harbour", "The Drowned Chapel", "Saltmarsh Inn"]
WORDS = [
    "wind",
    "salt",
    "lamp",
    "harbour",
    "rope",
    "gull",
    "tide",
    "storm",
    "shutter",
    "stair",
    "glass",
    "iron",
    "oil",
    "wick",
    "ledger",
    "boat",
    "reef",
    "bell",
    "fog",
    "door",
    "window",
    "coat",
    "boots",
    "kettle",
    "bread",
    "chart",
    "compass",
    "candle",
    "shadow",
    "voice",
    "letter",
    "bottle",
    "cork",
    "ink",
    "paper",
    "island",
    "rock",
    "wave",
    "spray",
    "dawn",
    "dusk",
    "night",
    "morning",
    "careful",
    "quiet",
    "sharp",
    "cold",
    "bright",
    "heavy",
    "narrow",
    "broken",
    "patient",
    "restless",
    "old",
    "young",
]
VERBS = [
    "climbed",
    "watched",
    "waited",
    "listened",
    "opened",
    "carried",
    "read",
    "folded",
    "whispered",
    "counted",
]


def _rng(text: str) -> random.Random:
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:12], 16))


def _prose(seed_text: str, words: int, names: list[str]) -> str:
    rng = _rng(seed_text)
    sentences: list[str] = []
    count = 0
    while count < words:
        who = rng.choice(names) if names else "The keeper"
        sentence = (
            f"{who} {rng.choice(VERBS)} the {rng.choice(WORDS)} "
            f"by the {rng.choice(WORDS)} {rng.choice(WORDS)}, "
            f"and the {rng.choice(WORDS)} {rng.choice(WORDS)} answered with "
            f"{rng.choice(WORDS)} {rng.choice(WORDS)}."
        )
        sentences.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paragraphs)


JUDGE_PASS = "NONE\nSCORE: 8"


def facts_answer(prompt: str) -> str:
    """One fact line grounded in the scene: who holds what."""
    text = prompt.split("Scene text:\n", 1)[-1]
    names = "|".join(re.escape(n) for n in NAMES.values())
    found = re.search(rf"({names}) \w+ the (\w+)", text)
    return f"{found.group(1)} | holds | {found.group(2)}" if found else "NONE"


def judge_key(prompt: str) -> tuple[int, int]:
    chapter = re.match(r"Chapter (\d+) ", prompt)
    scene = re.search(r"^Scene (\d+) should show", prompt, re.M)
    return (int(chapter.group(1)) if chapter else 0, int(scene.group(1)) if scene else 0)


def answer(prompt: str) -> str:
    """The scripted reply to one user prompt; a re-ask's note does not change it, so an
    answer lost to a fault is answered the same when asked again."""
    prompt = re.sub(r"\n\nNote: .*\Z", "", prompt, flags=re.S)
    if "List the problems of this scene" in prompt:
        return JUDGE_PASS
    if "List the facts this scene states" in prompt:
        return facts_answer(prompt)
    if "Write the title of this novel" in prompt:
        return "Title: The Salt Lantern"
    questions = {
        "say who the story is about": "A keeper named Mara must warn a ship before the storm.",
        "where and when": "A granite island in the North Sea in the winter of 1911.",
        "central conflict": "Mara must decide whether to trust the man who wrote the warning.",
        "how the story ends": "The ship is saved, and Mara learns who sent the bottle.",
        "List two or three themes": "trust, memory, the sea",
    }
    for key, reply in questions.items():
        if key in prompt:
            return reply
    if "by first and last name" in prompt:
        for key, name in NAMES.items():
            if key in prompt:
                return f"Her name was {name}."
        return "His name was Jonah Pell."
    match = re.search(r"describe (?:the place called )?(.+?)[.:]", prompt)
    if "In one or two sentences, describe" in prompt and match:
        return f"{match.group(1)} is weathered and watchful, with salt in every seam."
    match = re.search(r"Name place (\d+) of", prompt)
    if match:
        return "Place: " + PLACES[int(match.group(1)) - 1]
    match = re.search(r"say what happens in chapter (\d+) of (\d+)", prompt)
    if match:
        n = int(match.group(1))
        return " ".join(_rng(f"chapter{n}").sample(WORDS, 9)).capitalize() + f", part {n}."
    match = re.search(r"Chapter (\d+) of \d+", prompt)
    if "short title for this chapter" in prompt and match:
        return f"Title: The Signal of Night {match.group(1)}"
    match = re.search(r"say what happens in scene (\d+) of", prompt)
    if match:
        chapter = re.search(r"Chapter (\d+) ", prompt)
        c = chapter.group(1) if chapter else "0"
        seen = " ".join(_rng(f"scene{c}.{match.group(1)}").sample(WORDS, 8))
        return f"Mara Quill meets Tobias Grent at The North Tower: {seen}."
    target = re.search(r"about (\d+) words", prompt)
    words = int(target.group(1)) if target else 100
    names = [n for n in NAMES.values() if n in prompt]
    if prompt.startswith("Chapter") and "Edit this scene" in prompt:
        draft = prompt.split("\n\n", 1)[1]
        return draft.replace(" waited ", " stood waiting ")
    return _prose(prompt, words, names)


def _cut(text: str, words: int) -> str | None:
    """`text` up to its `words`-th word, as a model stopped by max_tokens; None if shorter."""
    if not words:
        return None
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    return text[: ends[words - 1]] if len(ends) > words else None


class ScriptedServer:
    def __init__(
        self,
        delay_s: float = 0.0,
        fail_status: int | None = None,
        truncate_words: int = 0,
        verdicts: dict[int, list[str]] | None = None,
        seed_in_prose: bool = False,
        echo_key: bool = False,
        replies: dict[str, str] | None = None,
        hold_after: int | None = None,
    ) -> None:
        """`verdicts[chapter][k]` is the judge's answer the k-th time it reads a scene of
        that chapter ("S2: ..." for scene 2 only; "{quote}" becomes the scene's first
        words); after the script, it passes."""
        self.verdicts = verdicts or {}
        self.replies = replies or {}  # a prompt containing KEY is answered VALUE, always
        self.seed_in_prose = seed_in_prose  # drafts end "Take SEED.": tells attempts apart
        self.judged: dict[tuple[int, int], int] = {}
        self.delay_s = delay_s
        self.fail_status = fail_status
        self.echo_key = echo_key  # a failure's body repeats the request's key, as some do
        self.truncate_words = truncate_words  # longer answers stop there: finish_reason=length
        self.requests = 0
        # Requests after the first `hold_after` wait for `release()`: a test can act (fill
        # the disk, say) at a known point of the book, however fast or slow the machine.
        self.hold_after = hold_after
        self.released = threading.Event()
        self.sent: list[tuple[str, Any]] = []  # (the messages as JSON, the seed) of each
        self.bodies: list[dict[str, Any]] = []  # each request as sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests += 1
                server.sent.append((json.dumps(body["messages"]), body.get("seed")))
                server.bodies.append(body)
                if server.hold_after is not None and server.requests > server.hold_after:
                    server.released.wait(timeout=300)
                if server.fail_status:
                    message = "scripted failure"
                    if server.echo_key:
                        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                        message += f" for key {key} (check it)"
                    self._send(server.fail_status, {"error": {"message": message}})
                    return
                messages = body["messages"]
                prompt = messages[-1]["content"]
                finish = "stop"
                if prompt.startswith("Continue exactly where") and len(messages) >= 3:
                    full, partial = answer(messages[-3]["content"]), messages[-2]["content"]
                    text = full[len(partial) :] if full.startswith(partial) else ""
                elif any(key in prompt for key in server.replies):
                    text = next(v for k, v in server.replies.items() if k in prompt)
                elif "List the problems of this scene" in prompt:
                    text = server.judge(prompt)
                else:
                    text = answer(prompt)
                    drafting = messages[0]["content"].startswith("You are a novelist. Write")
                    if server.seed_in_prose and drafting:
                        text += f" Take {body.get('seed')}."
                    cut = _cut(text, server.truncate_words)
                    if cut is not None:
                        text, finish = cut, "length"
                time.sleep(server.delay_s)
                usage = {
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": len(text.split()),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self._send(
                    200,
                    {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": finish,
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": usage,
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def release(self) -> None:
        """Let the held requests (and all later ones) be answered."""
        self.released.set()

    def judge(self, prompt: str) -> str:
        key = judge_key(re.sub(r"\n\nNote: .*\Z", "", prompt, flags=re.S))
        attempt = self.judged.get(key, 0)
        self.judged[key] = attempt + 1
        script = self.verdicts.get(key[0], [])
        if attempt >= len(script):
            return JUDGE_PASS
        line = script[attempt]
        only = re.match(r"S(\d+):\s*", line)  # "S2: ..." is scene 2's alone
        if only:
            if int(only.group(1)) != key[1]:
                return JUDGE_PASS
            line = line[only.end() :]
        scene = prompt.split("Scene text:\n", 1)[-1]
        quote = " ".join(re.sub(r"[^\w\s']", " ", scene).split()[:6])
        return line.replace("{quote}", quote)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
