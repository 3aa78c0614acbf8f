"""Which language model the local server's agents use: the user's own, from the settings.

In order: ``ServerConfig.agent_base_url`` / ``BU_CDP_AGENT_BASE_URL`` (any OpenAI-compatible
``/v1`` endpoint: Ollama, vLLM, llama.cpp, a hosted provider) with ``BU_CDP_AGENT_MODEL`` and
``BU_CDP_AGENT_API_KEY``; else a provider key ``browser-use`` knows (``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ``GOOGLE_API_KEY``), with that provider's default model. None: no
agent, and creating a session answers 501 with ``NO_AGENT``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from bu_cdp.errors import ConfigurationError

BASE_URL_ENV = "BU_CDP_AGENT_BASE_URL"
MODEL_ENV = "BU_CDP_AGENT_MODEL"
API_KEY_ENV = "BU_CDP_AGENT_API_KEY"
EXTRA = "bu-cdp[agent]"
OPENAI_COMPATIBLE = "openai-compatible"

# Provider keys browser-use reads, in the order they are tried, with a default model each.
PROVIDER_KEYS = {
    "OPENAI_API_KEY": ("openai", "gpt-4.1-mini"),
    "ANTHROPIC_API_KEY": ("anthropic", "claude-sonnet-4-0"),
    "GOOGLE_API_KEY": ("google", "gemini-2.5-flash"),
}

NO_AGENT = (
    "This bu-cdp local server has no language model for agent sessions. Install the agent "
    f"({EXTRA}: pip install '{EXTRA}') and point it at any OpenAI-compatible endpoint: set "
    f"{BASE_URL_ENV} (for example http://127.0.0.1:11434/v1 for a local Ollama) and "
    f"{MODEL_ENV} (and {API_KEY_ENV} if it needs one), or `bu-cdp serve --agent-base-url URL "
    "--agent-model NAME`; OPENAI_API_KEY or ANTHROPIC_API_KEY work too. Or set "
    "BROWSER_USE_API_KEY to run sessions on the hosted Browser Use API."
)


@dataclass(frozen=True)
class AgentLLM:
    provider: str  # OPENAI_COMPATIBLE, or a key of PROVIDER_KEYS' values
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a secret: never in a log

    def describe(self) -> str:
        """Names the model, for errors and logs: never the key."""
        where = f" at {self.base_url}" if self.base_url else f" ({self.provider})"
        return f"the LLM {self.model!r}{where}"

    def with_model(self, model: str | None) -> AgentLLM:
        """The same endpoint with the model a session asked for (its ``model`` field)."""
        if not model or model == self.model:
            return self
        return AgentLLM(self.provider, model, self.base_url, self.api_key)


def resolve_llm(
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> AgentLLM | None:
    """The model agents use, from explicit settings, then the environment; None if none."""
    base_url = base_url or environ.get(BASE_URL_ENV) or None
    model = model or environ.get(MODEL_ENV) or None
    api_key = api_key or environ.get(API_KEY_ENV) or None
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{BASE_URL_ENV} / --agent-base-url must be an http(s) URL of an "
                f"OpenAI-compatible API, such as http://127.0.0.1:11434/v1; got {base_url!r}"
            )
        if not model:
            raise ConfigurationError(
                f"{BASE_URL_ENV} is set to {base_url}, but no model: set {MODEL_ENV} "
                "(or --agent-model) to a model that endpoint serves, such as qwen2.5:7b"
            )
        return AgentLLM(OPENAI_COMPATIBLE, model, base_url.rstrip("/"), api_key)
    for name, (provider, default_model) in PROVIDER_KEYS.items():
        key = environ.get(name)
        if key:
            return AgentLLM(provider, model or default_model, None, key)
    return None


def agent_installed() -> bool:
    """Whether ``browser-use`` can be imported, without importing it (that takes a second)."""
    from importlib.util import find_spec

    return find_spec("browser_use") is not None


def describe_setup(environ: Mapping[str, str] = os.environ) -> tuple[bool, str]:
    """For ``bu-cdp doctor``: whether agent sessions can run here, and what they would use."""
    try:
        llm = resolve_llm(environ=environ)
    except ConfigurationError as exc:
        return False, str(exc)
    if llm is None:
        return True, f"no LLM configured: local agent sessions answer 501 (set {BASE_URL_ENV})"
    source = BASE_URL_ENV if llm.provider == OPENAI_COMPATIBLE else _key_name(llm.provider)
    if not agent_installed():
        return False, f"{source} is set, but browser-use is missing: pip install '{EXTRA}'"
    return True, f"{llm.describe()}, from {source}"


def _key_name(provider: str) -> str:
    return next(name for name, (known, _) in PROVIDER_KEYS.items() if known == provider)
