"""Settings: precedence of sources, refusals, derived values."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmlc.errors import ConfigError
from gmlc.settings import DEV_ISSUER, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gmlc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_overrides_env_file_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(
        tmp_path, '[gmlc]\nissuer = "file.example"\nworkers = 2\nport = 8000\nlev_conf = 90\n'
    )
    monkeypatch.setenv("SALVE_GMLC_WORKERS", "3")
    monkeypatch.setenv("SALVE_GMLC_PORT", "8001")
    settings = load_settings(config, port=8002, max_targets=None)
    assert settings.issuer == "file.example"  # file only
    assert settings.lev_conf == 90  # file beats default
    assert settings.workers == 3  # environment beats file
    assert settings.port == 8002  # override beats environment
    assert settings.max_targets == 20  # None override ignored, default kept


def test_issuer_required_outside_dev() -> None:
    with pytest.raises(ConfigError, match="issuer is required"):
        load_settings()
    assert load_settings(dev=True).issuer == DEV_ISSUER
    assert load_settings(issuer="gmlc.example").issuer == "gmlc.example"


def test_unknown_keys_and_bad_values_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bogus"):
        load_settings(_write(tmp_path, "[gmlc]\ndev = true\nbogus = 1\n"))
    with pytest.raises(ConfigError, match="lev_conf"):
        load_settings(dev=True, lev_conf=150)
    with pytest.raises(ConfigError, match="together"):
        load_settings(dev=True, tls_cert=tmp_path / "cert.pem")
    with pytest.raises(ConfigError, match="radius_floor_m"):
        load_settings(dev=True, radius_floor_m=60000)
    with pytest.raises(ConfigError, match="unknown top-level table or key"):
        load_settings(_write(tmp_path, "[other]\nx = 1\n"))


def test_file_problems_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[gmlc\n"))


def test_derived_values(tmp_path: Path) -> None:
    settings = load_settings(dev=True, state_dir=tmp_path)
    assert settings.keys_dir == tmp_path / "keys"
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'gmlc.sqlite3'}"
    assert settings.effective_port == 9210
    assert not settings.tls_enabled
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    tls = load_settings(dev=True, tls_cert=cert, tls_key=key)
    assert tls.tls_enabled
    assert tls.effective_port == 9211
    explicit = load_settings(dev=True, database_url="postgresql+psycopg://db/gmlc", port=1)
    assert explicit.effective_database_url == "postgresql+psycopg://db/gmlc"
    assert explicit.effective_port == 1


def test_settings_are_frozen() -> None:
    settings = load_settings(dev=True)
    with pytest.raises(ValueError, match="frozen"):
        settings.workers = 4


def test_plain_http_only_on_loopback_unless_allowed(tmp_path: Path) -> None:
    load_settings(dev=True, host="127.0.0.1").check_serving()
    load_settings(dev=True, host="::1").check_serving()
    with pytest.raises(ConfigError, match="refusing plain HTTP"):
        load_settings(dev=True, host="0.0.0.0").check_serving()
    load_settings(dev=True, host="0.0.0.0", allow_plain_http=True).check_serving()
    missing = load_settings(
        dev=True, host="0.0.0.0", tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem"
    )
    with pytest.raises(ConfigError, match="tls_cert"):
        missing.check_serving()


def test_metrics_listener_is_loopback_by_default_and_never_the_mlp_port() -> None:
    settings = load_settings(issuer="gmlc.example.net")
    assert (settings.metrics_host, settings.metrics_port) == ("127.0.0.1", 9212)
    with pytest.raises(ConfigError, match="own listener"):
        load_settings(issuer="gmlc.example.net", port=9300, metrics_port=9300)
    with pytest.raises(ConfigError, match="own listener"):
        load_settings(issuer="gmlc.example.net", metrics_port=9210)  # plain default port
    assert load_settings(issuer="gmlc.example.net", metrics_port=0).metrics_port == 0
