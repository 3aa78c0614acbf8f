"""Log in once, stay logged in: a profile keeps cookies and storage between browsers.

    python recipes/persistent_login.py [--profile NAME]

The first browser logs in on a demo site and is stopped; its cookies are saved in the profile.
A second, brand-new browser with the same profile is still logged in. Run it again and the
first step finds the login already there. The demo site is served from this machine
(offline); when the browsers run elsewhere (the hosted API), httpbin.org plays its part.
"""

from __future__ import annotations

import argparse
import sys

from _demo_site import demo_urls
from playwright.sync_api import Page

from bu_cdp import remote_browser


def logged_in_as(page: Page, whoami: str) -> str | None:
    """Who the site thinks we are: it answers with the cookies the browser sent it."""
    response = page.goto(whoami)
    assert response is not None
    user: str | None = response.json()["cookies"].get("user")
    return user


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile", default="recipe-login", help="profile name (default %(default)s)"
    )
    args = parser.parse_args(argv[1:])

    with demo_urls() as site:
        # 1. Log in. create_profile=True makes the profile the first time the name is used.
        with remote_browser(profile=args.profile, create_profile=True) as page:
            before = logged_in_as(page, site.whoami)
            if before is None:
                page.goto(site.login)  # sets a login cookie, as a login form does
                print("browser 1: logged in as ada")
            else:
                print(f"browser 1: already logged in as {before} (the profile remembered)")
        # Leaving the block stopped the browser; the server saved the profile.

        # 2. A new browser with the same profile: the cookie is still there.
        with remote_browser(profile=args.profile) as page:
            user = logged_in_as(page, site.whoami) or "nobody (not logged in)"
            print(f"browser 2: the site says you are {user!r}")
    return 0 if user == "ada" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
