"""A scripted stand-in for a language model: an OpenAI-compatible chat-completions server.

No local part can produce a language model's answers, so the agent tests run the real
``browser-use`` agent against this server instead of a model. Everything else is real: the
agent, its browser on the local server, the pages it reads. Each chat-completion request is
answered by the next entry of the script, a function of the request (so an answer can use
what the agent saw, such as the index of a button on the page), and every request is kept
for the test to inspect.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the model server answers: a chat completion with ``content``, or an HTTP error."""

    content: str = ""
    status: int = 200
    hold: threading.Event | None = None  # answer only once this is set (a slow model)


Step = Callable[[dict[str, Any]], Reply]


def _agent_output(actions: list[dict[str, Any]], goal: str) -> Reply:
    body = {
        "thinking": goal,
        "evaluation_previous_goal": "as planned",
        "memory": goal,
        "next_goal": goal,
        "action": actions,
    }
    return Reply(json.dumps(body))


def page_text(request: dict[str, Any]) -> str:
    """The text of the last message the agent sent: its view of the browser's state."""
    content = request["messages"][-1]["content"]
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def navigate(url: str) -> Step:
    return lambda request: _agent_output([{"navigate": {"url": url}}], f"open {url}")


def click(label: str) -> Step:
    """Click the element whose text is ``label``, by the index the agent's view gives it."""

    def answer(request: dict[str, Any]) -> Reply:
        text = page_text(request)
        # browser-use lists interactive elements as "[index]<tag ...>label" (maybe a line on).
        found = re.search(r"\[(\d+)\]<[^>\n]*>\s*" + re.escape(label), text)
        if found is None:
            raise AssertionError(f"no element {label!r} in the agent's view:\n{text[-3000:]}")
        return _agent_output([{"click": {"index": int(found.group(1))}}], f"click {label}")

    return answer


def done(extract: Callable[[str], dict[str, Any]]) -> Step:
    """Finish with structured data read from the page by ``extract(page_text)``."""

    def answer(request: dict[str, Any]) -> Reply:
        data = extract(page_text(request))
        return _agent_output([{"done": {"success": True, "data": data}}], "report")

    return answer


def done_text(text: str) -> Step:
    return lambda request: _agent_output([{"done": {"success": True, "text": text}}], "report")


def nonsense(request: dict[str, Any]) -> Reply:
    return Reply("Sure! Here is what I would do: click the button.")


def broken(request: dict[str, Any]) -> Reply:
    return Reply(json.dumps({"error": {"message": "model exploded"}}), status=500)


class ScriptedLLM(ThreadingHTTPServer):
    """``with ScriptedLLM([navigate(url), click("Show"), done(...)]) as llm: llm.base_url``.

    Past the end of the script, the last entry answers again (an agent that retries sees the
    same answer). ``hold`` makes every answer from entry ``hold_from`` on wait until
    ``release()``: a model still thinking when the test stops the session.
    """

    daemon_threads = True
    model = "scripted-model"

    def __init__(self, script: list[Step], *, hold_from: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.hold_from = hold_from
        self.requests: list[dict[str, Any]] = []
        self.held = threading.Event()  # set once a request waits on the hold
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def answer(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            position = len(self.requests)
            self.requests.append(request)
        if self.hold_from is not None and position >= self.hold_from:
            self.held.set()
            self._release.wait()
        return self.script[min(position, len(self.script) - 1)](request)

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedLLM

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no {self.path} here"}})
            return
        try:
            reply = self.server.answer(request)
        except AssertionError as exc:  # the script met a page it did not expect: say so
            self._send(400, {"error": {"message": str(exc)}})
            return
        if reply.status != 200:
            self._send(reply.status, json.loads(reply.content))
            return
        self._send(200, _completion(request, reply.content))

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the agent gave up on this request (it was stopped): nothing to do
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", ScriptedLLM.model),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
