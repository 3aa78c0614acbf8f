"""Which LLM agent sessions use: settings, environment, provider keys, serve flags, doctor."""

from __future__ import annotations

import argparse

import pytest

from bu_cdp.cli import main
from bu_cdp.cli.doctor import _agent
from bu_cdp.cli.serve import add_parser, server_config
from bu_cdp.errors import ConfigurationError
from bu_cdp.server.sessions.agent.llm import AgentLLM, describe_setup, resolve_llm

LOCAL = "http://127.0.0.1:11434/v1"


def test_settings_win_over_the_environment_which_wins_over_provider_keys() -> None:
    environ = {
        "BU_CDP_AGENT_BASE_URL": "http://elsewhere:8000/v1/",
        "BU_CDP_AGENT_MODEL": "env-model",
        "BU_CDP_AGENT_API_KEY": "env-key",
        "OPENAI_API_KEY": "sk-openai",
    }
    assert resolve_llm(LOCAL, "qwen2.5:7b", environ=environ) == AgentLLM(
        "openai-compatible", "qwen2.5:7b", LOCAL, "env-key"
    )
    from_env = resolve_llm(environ=environ)
    assert from_env == AgentLLM(
        "openai-compatible", "env-model", "http://elsewhere:8000/v1", "env-key"
    )
    assert "env-key" not in repr(from_env)  # a secret: never in a log line
    assert resolve_llm(environ={"OPENAI_API_KEY": "sk"}) == AgentLLM(
        "openai", "gpt-4.1-mini", None, "sk"
    )
    anthropic = resolve_llm(environ={"ANTHROPIC_API_KEY": "a", "BU_CDP_AGENT_MODEL": "claude-x"})
    assert anthropic == AgentLLM("anthropic", "claude-x", None, "a")
    assert resolve_llm(environ={}) is None


def test_a_base_url_without_a_model_or_not_http_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="BU_CDP_AGENT_MODEL"):
        resolve_llm(LOCAL, environ={})
    with pytest.raises(ConfigurationError, match="must be an http"):
        resolve_llm("127.0.0.1:11434", "m", environ={})


def test_doctor_says_which_llm_agent_sessions_use(monkeypatch: pytest.MonkeyPatch) -> None:
    assert describe_setup({}) == (
        True,
        "no LLM configured: local agent sessions answer 501 (set BU_CDP_AGENT_BASE_URL)",
    )
    ok, found = describe_setup({"BU_CDP_AGENT_BASE_URL": LOCAL, "BU_CDP_AGENT_MODEL": "q"})
    assert ok and found == f"the LLM 'q' at {LOCAL}, from BU_CDP_AGENT_BASE_URL"
    ok, found = describe_setup({"ANTHROPIC_API_KEY": "secret"})
    assert ok and found == "the LLM 'claude-sonnet-4-0' (anthropic), from ANTHROPIC_API_KEY"
    assert "secret" not in found
    monkeypatch.setenv("BU_CDP_AGENT_BASE_URL", LOCAL)
    check = _agent()
    assert not check.ok and "BU_CDP_AGENT_MODEL" in check.found


def test_serve_takes_the_url_and_model_as_flags_and_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["serve", "--api-key", "k", "--agent-base-url", LOCAL, "--agent-model", "qwen2.5:7b"]
    )
    config = server_config(args)
    assert (config.agent_base_url, config.agent_model, config.agent_api_key) == (
        LOCAL,
        "qwen2.5:7b",
        None,  # resolved from BU_CDP_AGENT_API_KEY when the app starts, never a flag
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--agent-api-key", "visible-in-ps"])


def test_serve_refuses_a_bad_agent_url_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["serve", "--port", "0", "--api-key", "k", "--agent-base-url", "ollama:11434"]
    assert main([*argv, "--agent-model", "m"]) == 1
    assert "BU_CDP_AGENT_BASE_URL / --agent-base-url must be an http" in capsys.readouterr().err
