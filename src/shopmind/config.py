"""Settings in one place: environment variables with the prefix ``SHOPMIND_``.

Library code never reads the environment; the CLI builds one :class:`Settings` and passes
the values it needs explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopmind.errors import ConfigError

#: Development key. Accepted only with ``SHOPMIND_PROFILE=dev``.
DEV_PSEUDONYMIZE_KEY = "shopmind-dev-key-not-secret"

PiiPolicy = Literal["hash", "drop"]


class Settings(BaseSettings):
    """Process-wide settings (read from ``SHOPMIND_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="ignore")

    profile: str = Field("dev", description="'dev' allows the built-in pseudonymisation key.")
    workspace: Path = Field(Path("workspace"), description="Workspace directory.")
    pseudonymize_key: SecretStr | None = Field(None, description="HMAC-SHA256 key for user ids.")
    pii_policy: PiiPolicy = Field("hash", description="What to do with direct PII columns.")

    def pseudonymization_key(self) -> bytes:
        """The HMAC key; refuses the development key outside the ``dev`` profile."""
        if self.pseudonymize_key is not None:
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
        if self.profile != "dev":
            raise _missing_key_error(self.profile)
        return DEV_PSEUDONYMIZE_KEY.encode()

    def optional_key(self) -> bytes | None:
        """The HMAC key when one may be used here, else None (no error)."""
        try:
            return self.pseudonymization_key()
        except ConfigError:
            return None

    def uses_dev_key(self) -> bool:
        return self.pseudonymize_key is None and self.profile == "dev"


def _missing_key_error(profile: str) -> ConfigError:
    return ConfigError(
        f"Profile '{profile}' needs a secret pseudonymisation key; the built-in development "
        "key is allowed only with SHOPMIND_PROFILE=dev.",
        hint="Set one with `export SHOPMIND_PSEUDONYMIZE_KEY=$(python -c 'import secrets; "
        "print(secrets.token_hex(32))')` and keep it: the same key maps the same user to the "
        "same pseudonym across loads. For public data without personal data use "
        "--pseudonymize off.",
    )
