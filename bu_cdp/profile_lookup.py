"""A browser plan's create request, its profile looked up by name: what ``RemoteBrowser``
and ``bu-cdp browsers create``/``open`` send, so both send the same (and neither imports the
other)."""

from __future__ import annotations

import logging
import re
from typing import Any

from bu_cdp.effects import Procedure, call
from bu_cdp.errors import ProfileLookupError
from bu_cdp.options import KEYWORDS, BrowserPlan, Words

log = logging.getLogger("bu_cdp")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def profile_id_for(
    client: Any, wanted: str, create: bool = False, words: Words = KEYWORDS
) -> Procedure[str]:
    """The id of a profile given by id or name: an id as is, otherwise a name matched exactly
    among ``profiles.list(query=name)``, created when missing if ``create``. The errors name
    the options in the caller's ``words``."""
    if _UUID.match(wanted):
        return wanted
    found = yield from call(client.profiles.list, query=wanted)
    matches = [p for p in found if p.name == wanted and p.id]
    if len(matches) == 1:
        log.debug("profile %r is %s", wanted, matches[0].id)
        return str(matches[0].id)
    if matches:
        ids = ", ".join(str(p.id) for p in matches)
        raise ProfileLookupError(
            f"{len(matches)} profiles are named {wanted!r} ({ids}); "
            f"pass {words.by_id} to choose one"
        )
    if create:
        made = yield from call(client.profiles.create, wanted)
        log.info("created profile %r (%s)", wanted, made.id)
        return str(made.id)
    hint = words.if_missing.format(name=wanted)
    raise ProfileLookupError(f"no profile named {wanted!r}; {hint}")


def create_fields(client: Any, plan: BrowserPlan) -> Procedure[dict[str, Any]]:
    """The fields of the create request ``plan`` asks for, the profile looked up by name."""
    fields = dict(plan.fields)
    if plan.profile_id is not None:
        fields["profile_id"] = plan.profile_id
    elif plan.profile is not None:
        fields["profile_id"] = yield from profile_id_for(
            client, plan.profile, plan.create_profile, plan.words
        )
    return fields
