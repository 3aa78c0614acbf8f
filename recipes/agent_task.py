"""An agent session: give a task in words, get typed output back.

    python recipes/agent_task.py ["task"]

Agent sessions need a language model, so they run on the hosted Browser Use API
(set BROWSER_USE_API_KEY). The bu-cdp local server has no agent runner: it answers 501, and
this recipe explains that instead of failing obscurely. Everything else in bu-cdp (raw
browsers, profiles, workspaces) works locally.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import BaseModel

from bu_cdp import BrowserUse
from bu_cdp.errors import NotSupportedError, SessionError


class Price(BaseModel):
    product: str
    price: float
    currency: str


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "task", nargs="?", default="Find the price of the Browser Use Pro plan.", help="in words"
    )
    task = parser.parse_args(argv[1:]).task
    with BrowserUse() as client:
        try:
            # Creates the session, polls with backoff until it ends, parses the output.
            result = client.sessions.run(task, output_schema=Price, timeout=600)
        except NotSupportedError as exc:
            print(f"Agent sessions are not available here: {exc.message}")
            print("Set BROWSER_USE_API_KEY to run this task on the hosted Browser Use API.")
            return 2
        except SessionError as exc:
            print(f"The agent did not finish: {exc}")
            return 1
    print(f"{result.product}: {result.price} {result.currency}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
