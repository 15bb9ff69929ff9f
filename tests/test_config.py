import pytest

from shopmind.config import DEV_PSEUDONYMIZE_KEY, Settings
from shopmind.errors import ConfigError


def test_dev_profile_allows_the_development_key() -> None:
    assert Settings(profile="dev").pseudonymization_key() == DEV_PSEUDONYMIZE_KEY.encode()


def test_other_profiles_refuse_the_default_key_and_say_how_to_set_one() -> None:
    with pytest.raises(ConfigError, match="SHOPMIND_PSEUDONYMIZE_KEY"):
        Settings(profile="prod").pseudonymization_key()
    with pytest.raises(ConfigError):
        Settings(profile="prod", pseudonymize_key=DEV_PSEUDONYMIZE_KEY).pseudonymization_key()


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        Settings(profile="prod", pseudonymize_key="short").pseudonymization_key()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_PROFILE", "prod")
    monkeypatch.setenv("SHOPMIND_PSEUDONYMIZE_KEY", "k" * 32)
    monkeypatch.setenv("SHOPMIND_WORKSPACE", "/tmp/elsewhere")
    settings = Settings()
    assert settings.pseudonymization_key() == b"k" * 32
    assert str(settings.workspace) == "/tmp/elsewhere"
