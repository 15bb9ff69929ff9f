"""Settings in one place: environment variables with the prefix ``SHOPMIND_``.

Library code never reads the environment; the CLI builds one :class:`Settings` and passes
the values it needs explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopmind.errors import ConfigError
from shopmind.privacy.keys import KeyChoice, workspace_key

#: Development key. Accepted only with ``SHOPMIND_PROFILE=dev`` (tests and the demo): it is
#: public, so pseudonyms made with it can be reversed by anyone who guesses ids.
DEV_PSEUDONYMIZE_KEY = "shopmind-dev-key-not-secret"

#: ``dev``: the built-in key; ``local`` (default): the workspace's own random key file unless
#: SHOPMIND_PSEUDONYMIZE_KEY is set; any other profile (``prod``): SHOPMIND_PSEUDONYMIZE_KEY.
DEFAULT_PROFILE = "local"

PiiPolicy = Literal["hash", "drop"]


class Settings(BaseSettings):
    """Process-wide settings (read from ``SHOPMIND_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="ignore")

    profile: str = Field(
        DEFAULT_PROFILE,
        description="'dev': built-in key (tests, demo); 'local': a random key per workspace; "
        "others (e.g. 'prod'): SHOPMIND_PSEUDONYMIZE_KEY is required.",
    )
    workspace: Path = Field(Path("workspace"), description="Workspace directory.")
    pseudonymize_key: SecretStr | None = Field(None, description="HMAC-SHA256 key for user ids.")
    vault_key: SecretStr | None = Field(None, description="Key of the id vault.")
    pii_policy: PiiPolicy = Field("hash", description="What to do with direct PII columns.")
    workspace_key: SecretStr | None = Field(
        None, description="Passphrase that encrypts the workspace at rest (docs/privacy.md)."
    )
    new_workspace_key: SecretStr | None = Field(
        None, description="The new passphrase for `shopmind rotate-key`."
    )
    spark_master: str = Field("local[2]", description="Spark master of --engine spark.")
    console_idle_minutes: float = Field(30.0, gt=0, description="Web console idle timeout.")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _settings_error(exc) from None

    def key_choice(self, workspace: Path | None = None, *, create: bool = True) -> KeyChoice:
        """The pseudonymisation key for ``workspace`` and where it comes from.

        SHOPMIND_PSEUDONYMIZE_KEY first; else the development key (profile ``dev``); else, with
        the ``local`` profile, the workspace's own key file (created when ``create``)."""
        if self.pseudonymize_key is not None:
            return KeyChoice(self._configured_key(), "environment")
        if self.profile == "dev":
            return KeyChoice(DEV_PSEUDONYMIZE_KEY.encode(), "dev")
        if self.profile == DEFAULT_PROFILE and workspace is not None:
            choice = workspace_key(workspace, create=create)
            if choice is not None:
                return choice
        raise _missing_key_error(self.profile)

    def pseudonymization_key(self, workspace: Path | None = None) -> bytes:
        """The HMAC key (see :meth:`key_choice`); a ConfigError says how to set one."""
        return self.key_choice(workspace).key

    def _configured_key(self) -> bytes:
        assert self.pseudonymize_key is not None
        key = self.pseudonymize_key.get_secret_value()
        if len(key) < 16:
            raise ConfigError(
                "SHOPMIND_PSEUDONYMIZE_KEY is shorter than 16 characters.",
                hint="Use a long random value, e.g. `export SHOPMIND_PSEUDONYMIZE_KEY="
                "$(python -c 'import secrets; print(secrets.token_hex(32))')`.",
            )
        if key == DEV_PSEUDONYMIZE_KEY and self.profile != "dev":
            raise _missing_key_error(self.profile)
        return key.encode()

    def optional_key(self, workspace: Path | None = None) -> bytes | None:
        """The HMAC key when one may be used here, else None (no error; creates nothing)."""
        try:
            return self.key_choice(workspace, create=False).key
        except ConfigError:
            return None

    def encryption_key(self) -> str | None:
        """SHOPMIND_WORKSPACE_KEY, or None when unset or empty (a plain workspace)."""
        return _secret(self.workspace_key)

    def new_encryption_key(self) -> str | None:
        """SHOPMIND_NEW_WORKSPACE_KEY, or None when unset or empty."""
        return _secret(self.new_workspace_key)

    def uses_dev_key(self) -> bool:
        return self.pseudonymize_key is None and self.profile == "dev"


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None


def _settings_error(exc: ValidationError) -> ConfigError:
    """One message naming each invalid environment variable, its value and what is allowed."""
    problems = []
    for error in exc.errors():
        name = "SHOPMIND_" + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{name}={error.get('input')!r} is not valid: {error['msg']}")
    return ConfigError(
        "Invalid setting: " + "; ".join(problems) + ".",
        hint="Fix or unset the environment variable (e.g. `export SHOPMIND_PII_POLICY=hash`).",
    )


def _missing_key_error(profile: str) -> ConfigError:
    return ConfigError(
        f"Profile '{profile}' needs a secret pseudonymisation key; the built-in development "
        f"key is allowed only with SHOPMIND_PROFILE=dev and a per-workspace key only with "
        f"SHOPMIND_PROFILE={DEFAULT_PROFILE} (the default).",
        hint="Set one with `export SHOPMIND_PSEUDONYMIZE_KEY=$(python -c 'import secrets; "
        "print(secrets.token_hex(32))')` and keep it: the same key maps the same user to the "
        "same pseudonym across loads. For public data without personal data use "
        "--pseudonymize off.",
    )
