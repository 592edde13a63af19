"""Which model server the CLI talks to: explicit options, then environment, else none."""

from __future__ import annotations

import pytest

from opencode.chat import (
    NO_MODEL_HINT,
    OPENAI_BASE_URL,
    ChatConfig,
    ChatConfigError,
    resolve_chat_config,
)


def test_nothing_configured_means_no_model() -> None:
    assert resolve_chat_config() is None
    assert ChatConfig.from_env() is None


def test_hint_is_one_line_naming_the_settings() -> None:
    assert "\n" not in NO_MODEL_HINT
    for name in ("OPENCODE_BASE_URL", "OPENCODE_MODEL", "--base-url", "--model"):
        assert name in NO_MODEL_HINT


def test_opencode_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("OPENCODE_MODEL", "llama3.2")

    config = resolve_chat_config()

    assert config == ChatConfig(model="llama3.2", base_url="http://127.0.0.1:11434/v1")
    assert config.api_key is None
    assert config.chat_completions_url == "http://127.0.0.1:11434/v1/chat/completions"


def test_explicit_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_BASE_URL", "http://env-host/v1")
    monkeypatch.setenv("OPENCODE_MODEL", "env-model")

    config = ChatConfig.from_env(model="cli-model", base_url="http://cli-host:8000/v1")

    assert config is not None
    assert (config.model, config.base_url) == ("cli-model", "http://cli-host:8000/v1")


def test_opencode_base_url_beats_openai_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-compatible/v1")
    monkeypatch.setenv("OPENCODE_MODEL", "m")
    config = resolve_chat_config()
    assert config is not None
    assert config.base_url == "http://openai-compatible/v1"

    monkeypatch.setenv("OPENCODE_BASE_URL", "http://opencode-own/v1")
    config = resolve_chat_config()
    assert config is not None
    assert config.base_url == "http://opencode-own/v1"


def test_api_key_alone_defaults_to_openai_but_needs_a_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    # A key exported for other tools must not break the journal: still no model.
    assert resolve_chat_config() is None

    config = resolve_chat_config(model="gpt-4o-mini")

    assert config is not None
    assert (config.base_url, config.api_key) == (OPENAI_BASE_URL, "sk-secret")
    assert "sk-secret" not in repr(config)


def test_openai_base_url_alone_is_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert resolve_chat_config() is None


@pytest.mark.parametrize("source", ["env", "argument"])
def test_base_url_without_model_is_an_error(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    url = "http://127.0.0.1:11434/v1"
    if source == "env":
        monkeypatch.setenv("OPENCODE_BASE_URL", url)

    with pytest.raises(ChatConfigError) as caught:
        resolve_chat_config(base_url=url if source == "argument" else None)

    message = str(caught.value)
    assert url in message and "OPENCODE_MODEL" in message and "--model" in message
    assert "\n" not in message


def test_model_without_any_server_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_MODEL", "llama3.2")

    with pytest.raises(ChatConfigError, match="OPENCODE_BASE_URL"):
        resolve_chat_config()


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_MODEL", "")
    monkeypatch.setenv("OPENCODE_BASE_URL", "  ")
    monkeypatch.setenv("OPENAI_API_KEY", "")

    assert resolve_chat_config() is None
    config = resolve_chat_config(model="m", base_url="http://h/v1")
    assert config is not None
    assert config.api_key is None


def test_env_mapping_can_replace_os_environ() -> None:
    env = {"OPENCODE_MODEL": "m", "OPENCODE_BASE_URL": "http://h:1/v1"}
    config = resolve_chat_config(env=env, read_timeout=2.5, connect_timeout=1.0, max_tokens=99)
    assert config == ChatConfig(
        model="m", base_url="http://h:1/v1", read_timeout=2.5, connect_timeout=1.0, max_tokens=99
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:8080/v1/", "http://h:8080/v1"),
        ("https://h/v1/chat/completions", "https://h/v1"),
        ("  http://h/v1  ", "http://h/v1"),
    ],
)
def test_base_url_forms_people_paste(given: str, expected: str) -> None:
    assert ChatConfig(model="m", base_url=given).base_url == expected


@pytest.mark.parametrize("bad", ["localhost:11434/v1", "ftp://h/v1", "http://", ""])
def test_invalid_base_url(bad: str) -> None:
    with pytest.raises(ChatConfigError, match="http:// or https://"):
        ChatConfig(model="m", base_url=bad)


@pytest.mark.parametrize(
    "overrides",
    [{"read_timeout": 0}, {"connect_timeout": -1}, {"max_tokens": 0}, {"model": " "}],
)
def test_invalid_settings(overrides: dict[str, object]) -> None:
    settings: dict[str, object] = {"model": "m", "base_url": "http://h/v1", **overrides}
    with pytest.raises(ChatConfigError):
        ChatConfig(**settings)  # type: ignore[arg-type]
