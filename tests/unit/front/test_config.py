"""The front's configuration: TOML, environment overrides, precise errors, secret files."""

from __future__ import annotations

from pathlib import Path

import pytest

from front.config import load_config, parse_listen, read_secret_file
from front.errors import ConfigError

FULL = """
[tls]
listen = "[::]:8443"
[[tls.certificates]]
chain = "/etc/salve/tls/www.pem"
key = "/etc/salve/tls/www.key"
[[tls.certificates]]
chain = "/etc/salve/tls/next.pem"
key = "/etc/salve/tls/next.key"
upcoming = true

[upstream]
url = "http://127.0.0.1:8080/"

[gmlc]
url = "https://gmlc.example.net:9211"
client_id = "web-1"
password_file = "/etc/salve/front-gmlc.password"
msisdn = "+41791234567"

[site]
domains = ["WWW.Example.com.", "api.example.com"]
[[site.locations]]
name = "Zurich"
lat = 47.3769
lon = 8.5417
precision_m = 2000

[policy]
age = 120
mode = "all"

[batching]
enabled = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "front.toml"
    path.write_text(text)
    return path


def test_a_full_file_reads_with_canonical_names_and_derived_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    assert config.site.domains == ("www.example.com", "api.example.com")
    assert config.upstream.url == "http://127.0.0.1:8080"
    assert config.gmlc.host == "gmlc.example.net"
    assert str(config.gmlc.endpoint) == "gmlc.example.net:9211"
    assert [c.upcoming for c in config.tls.certificates] == [False, True]
    assert len(config.served_certificates()) == 1
    assert config.salve_policy().to_text() == (
        "v=salve1; gmlc=gmlc.example.net:9211; age=120; mode=all; max-age=86400"
    )
    assert config.site.locations[0].loc().startswith("47 22 36.840 N 8 32 30.120 E")
    assert config.batching.enabled and config.batching.window_ms == 200


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, FULL),
        environ={
            "SALVE_FRONT_UPSTREAM_URL": "http://10.0.0.5:9000",
            "SALVE_FRONT_BATCHING_ENABLED": "false",
            "SALVE_FRONT_SITE_DOMAINS": "shop.example.com, www.example.com",
            "SALVE_FRONT_GMLC_TIMEOUT_S": "2.5",
        },
    )
    assert config.upstream.url == "http://10.0.0.5:9000"
    assert not config.batching.enabled
    assert config.site.domains == ("shop.example.com", "www.example.com")
    assert config.gmlc.timeout_s == 2.5


@pytest.mark.parametrize(
    ("text", "environ", "words"),
    [
        ("[tls]\nlisten = 443\n", {}, "tls.listen"),
        ('[upstream]\nurl = "ftp://app"\n', {}, "upstream.url: must be an http:// or https://"),
        ('[gmlc]\nurl = "http://gmlc.example.net"\n', {}, "only for a GMLC on loopback"),
        ('[gmlc]\npassword = "hunter2"\n', {}, "gmlc.password: is not a known setting"),
        ('[site]\ndomains = ["bad name"]\n', {}, "site.domains"),
        ('[metrics]\nlisten = "0.0.0.0:9214"\n', {}, "must be on loopback"),
        ("[nonsense]\n", {}, "unknown top-level table or key 'nonsense'"),
        ('[policy]\nmode = "some"\n', {}, "policy.mode"),
        (
            '[[site.locations]]\nname = "X"\nlat = 1\nlon = 2\nprecision_m = 2500\n',
            {},
            "cannot be published exactly",
        ),
        ("", {"SALVE_FRONT_GMLC_PASSWORD": "x"}, "SALVE_FRONT_GMLC_PASSWORD is not a known"),
        ("", {"SALVE_FRONT_TLS_CERTIFICATES": "x"}, "only be set in the configuration file"),
        ("not toml [", {}, "is not valid TOML"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    tmp_path: Path, text: str, environ: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ=environ)
    assert words in str(caught.value)


def test_dns_checks_may_use_signed_zone_files_instead_of_a_resolver(tmp_path: Path) -> None:
    text = '[dns]\nzone_files = ["/srv/zones/example.com.zone", "/srv/zones/com.zone"]\n'
    config = load_config(write(tmp_path, text), environ={})
    assert config.dns.zone_files == (
        Path("/srv/zones/example.com.zone"),
        Path("/srv/zones/com.zone"),
    )
    from_environment = load_config(
        write(tmp_path, ""), environ={"SALVE_FRONT_DNS_ZONE_FILES": "/a.zone, /b.zone"}
    )
    assert from_environment.dns.zone_files == (Path("/a.zone"), Path("/b.zone"))
    with pytest.raises(ConfigError, match="resolver and zone_files exclude each other"):
        load_config(write(tmp_path, text + 'resolver = "127.0.0.1:53"\n'), environ={})


def test_serving_needs_certificates_domains_and_the_gmlc(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[site]\ndomains = ["www.example.com"]\n'), environ={})
    with pytest.raises(ConfigError, match="no certificate to serve"):
        config.require_serving()
    with pytest.raises(ConfigError, match="SALVE_FRONT_GMLC_URL"):
        config.gmlc.require("url")


def test_a_missing_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml", environ={})


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:443") == ("127.0.0.1", 443)
    assert parse_listen("[::1]:8443") == ("::1", 8443)
    for bad in ("443", "host:http", ":443", "h:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_secret_files_must_be_private_and_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    assert read_secret_file(secret, "gmlc.password_file") == "s3cret"
    secret.chmod(0o640)
    with pytest.raises(ConfigError, match="readable by other users"):
        read_secret_file(secret, "gmlc.password_file")
    secret.chmod(0o600)
    secret.write_text("two\nlines\n")
    with pytest.raises(ConfigError, match="exactly one line"):
        read_secret_file(secret, "gmlc.password_file")
    with pytest.raises(ConfigError, match="does not exist"):
        read_secret_file(tmp_path / "nothing", "gmlc.password_file")
