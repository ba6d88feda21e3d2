"""``salve-verify --zone-file``: the whole check with DNS from signed zone files, no server.

This is how a demo runs on a machine without Knot: the same validation code, over zones
signed in pure Python and written to files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlp.delivery import StatementDelivery
from mlp.dnsrecords import GmlcEndpoint, KeyPin, format_loc
from mlp.keys import KeySet, SigningKey, jwk_thumbprint
from mlp.statement import StatementPosition, issue_statement
from verifier.dnslab import default_lab_zones, salve_records, sign_lab, write_lab
from verifier.jwks import JWKS_PATH
from verifier.sitelab import LabSite

H = "www.example.salve.test"
G = "gmlc.salve.test"
Fixture = Any


def _pair(directory: Path, name: str, cert: Any) -> tuple[Path, Path]:
    chain, key = directory / f"{name}.pem", directory / f"{name}.key"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    return chain, key


def test_a_site_verifies_over_signed_zone_files(pki: Fixture, tmp_path: Path) -> None:
    key = SigningKey.generate("EdDSA")
    jwks = json.dumps(KeySet.from_signing_keys([key]).to_jwks()).encode()
    gmlc = LabSite(
        G,
        *_pair(tmp_path, "gmlc", pki.gmlc),
        serve=lambda session_hash: (404, b"{}"),
        routes={JWKS_PATH: lambda: (200, [("Cache-Control", "max-age=60")], jwks)},
    ).start()

    def serve(session_hash: bytes) -> tuple[int, bytes]:
        now = datetime.now(UTC)
        token, _ = issue_statement(
            key=key, issuer=G, subject=H, session_hash=session_hash,
            positions=StatementPosition(46.948, 7.4474, 1800), position_time=now, now=now,
            validity_s=60,
        )  # fmt: skip
        return 200, StatementDelivery(token).to_json()

    site = LabSite(H, *_pair(tmp_path, "site", pki.site), serve).start()
    try:
        records = salve_records(
            host=H,
            gmlc=GmlcEndpoint(G, gmlc.port),
            sites=[format_loc(46.948, 7.4474, hp_m=10000)],
            site_key=pki.private_key(pki.site),
            site_spki=pki.spki(pki.site),
            gmlc_key=pki.private_key(pki.gmlc),
            gmlc_spki=pki.spki(pki.gmlc),
            pins=[KeyPin(key.kid, jwk_thumbprint(key.public_key), key.alg)],
        )
        files, anchor = write_lab(sign_lab(default_lab_zones(), records=records), tmp_path / "dns")
        zone_args = [arg for path in files for arg in ("--zone-file", str(path))]
        done = subprocess.run(
            [sys.executable, "-m", "verifier", *zone_args, "--trust-anchor", str(anchor),
             "--ca", str(pki.ca_file), "--no-state", "--json", site.url],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        site.stop()
        gmlc.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["verdict"] == "VERIFIED"
    assert verdict["dns"]["source"].startswith("signed zone files")
    assert verdict["statement"]["alg"] == "EdDSA"
