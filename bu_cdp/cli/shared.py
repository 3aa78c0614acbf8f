"""What every API command of ``bu-cdp`` shares: its client, its usage errors, ``--base-url``."""

from __future__ import annotations

import argparse
from typing import NoReturn

from bu_cdp.client import BrowserUse
from bu_cdp.errors import ConfigurationError
from bu_cdp.settings import check_base_url


def base_url(text: str) -> str:
    """An argparse type: ``--base-url``, an API's address."""
    try:
        check_base_url(text, "--base-url")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(
            str(exc).replace(f"--base-url={text!r}", repr(text))
        ) from None
    return text


def client_for(args: argparse.Namespace) -> BrowserUse:
    return BrowserUse(base_url=args.base_url)


def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """Exit with status 2 and the command's usage, as argparse does for its own checks."""
    args.usage_error(message)
    raise AssertionError("unreachable: parser.error exits")
