"""An agent session: give a task in words, get typed output back.

    python recipes/agent_task.py ["task"]

An agent needs a language model. On the hosted Browser Use API (BROWSER_USE_API_KEY) it has
one. On the bu-cdp local server (the default, offline) it uses yours: any OpenAI-compatible
endpoint, for example a local Ollama:

    pip install 'bu-cdp[agent]'
    export BU_CDP_AGENT_BASE_URL=http://127.0.0.1:11434/v1 BU_CDP_AGENT_MODEL=qwen2.5:7b

Without one, the local server answers 501 and this recipe says how to configure it
(docs/agent-sessions.md). On a local server the default task reads the recipes' demo shop,
served on this machine, so the whole run stays offline.
"""

from __future__ import annotations

import argparse
import sys

from _demo_site import browsers_run_here, demo_urls
from pydantic import BaseModel

from bu_cdp import BrowserUse
from bu_cdp.errors import NotSupportedError, SessionError


class Price(BaseModel):
    product: str
    price: float


HOSTED_TASK = "Find the price of the Browser Use Pro plan."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "task", nargs="?", default=None, help="in words (default: the demo shop's price)"
    )
    given = parser.parse_args(argv[1:]).task
    with demo_urls() as urls, BrowserUse() as client:
        task = given or HOSTED_TASK
        if given is None and browsers_run_here():
            task = f"Open {urls.pages[2]} and report the product's name and price."
        try:
            # Creates the session, polls with backoff until it ends, parses the output.
            result = client.sessions.run(task, output_schema=Price, timeout=600)
        except NotSupportedError as exc:
            print(f"Agent sessions are not available here: {exc.message}")
            print(
                "To run them on this machine, point the local server at a language model:\n"
                "  pip install 'bu-cdp[agent]'\n"
                "  export BU_CDP_AGENT_BASE_URL=http://127.0.0.1:11434/v1  # e.g. Ollama\n"
                "  export BU_CDP_AGENT_MODEL=qwen2.5:7b\n"
                "(see docs/agent-sessions.md), or set BROWSER_USE_API_KEY to run this task "
                "on the hosted Browser Use API."
            )
            return 2
        except SessionError as exc:
            print(f"The agent did not finish: {exc}")
            return 1
    print(f"{result.product}: {result.price}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
