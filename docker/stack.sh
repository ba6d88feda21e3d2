#!/bin/sh
# The roles of the container image in compose.yaml: one word each, every step idempotent
# (a second `docker compose up` finds the state and keeps it). SALVE_STACK_GMLC_STATE and
# SALVE_STACK_APPLIANCE_STATE move the state directories, to run the roles outside a
# container (the tests do).
set -eu

GMLC_STATE="${SALVE_STACK_GMLC_STATE:-/var/lib/salve-gmlc}"
GMLC_CONFIG="$GMLC_STATE/gmlc.toml"
APPLIANCE_STATE="${SALVE_STACK_APPLIANCE_STATE:-/var/lib/salve-appliance}"
ENROLMENT="$APPLIANCE_STATE/enrollment.json"
WEB_CLIENT=web-1
DEMO_DOMAIN="${SALVE_DEMO_DOMAIN:-www.demo.invalid}"
# The demo domain's DNSSEC-signed policy, as zone files: the GMLC enrols a domain only
# after validating that its _salve policy names the GMLC (there is no DNS in the stack).
DNS_DIR="$GMLC_STATE/dns"

# salve-gmlc exits 4 for "already there": fine on a second start.
tolerate_conflict() {
    status=0
    "$@" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 4 ]
}

json_field() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or "")' "$1" "$2"
}

case "${1:-}" in
gmlc-init)
    if [ ! -f "$GMLC_STATE/tls/gmlc.key" ]; then
        mkdir -p "$GMLC_STATE/tls"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -subj "/CN=gmlc" -addext "subjectAltName=DNS:gmlc,DNS:localhost,IP:127.0.0.1" \
            -keyout "$GMLC_STATE/tls/gmlc.key" -out "$GMLC_STATE/tls/gmlc.crt" 2>/dev/null
        chmod 0644 "$GMLC_STATE/tls/gmlc.crt"
    fi
    # Writes the configuration on the first start; later starts find it (and migrate the
    # database after an upgrade of the image).
    salve-gmlc --config "$GMLC_CONFIG" init --state-dir "$GMLC_STATE" \
        --issuer "$SALVE_DEMO_ISSUER" --host 0.0.0.0 \
        --tls-cert "$GMLC_STATE/tls/gmlc.crt" --tls-key "$GMLC_STATE/tls/gmlc.key"
    cells="$(python -c 'from importlib.resources import files; print(files("demo") / "data" / "demo_cells.csv")')"
    salve-gmlc --config "$GMLC_CONFIG" cells import "$cells"
    ;;
gmlc)
    exec salve-gmlc --config "$GMLC_CONFIG" serve
    ;;
gmlc-ready)
    exec python -c 'import httpx, sys; sys.exit(httpx.get("https://127.0.0.1:9211/readyz", verify=False, timeout=3).status_code != 200)'
    ;;
appliance-init)
    salve-appliance init
    salve-appliance enroll --json > "$ENROLMENT.tmp"
    mv "$ENROLMENT.tmp" "$ENROLMENT"
    ;;
enrol)
    tolerate_conflict salve-gmlc --config "$GMLC_CONFIG" appliance add \
        "$(json_field "$ENROLMENT" appliance_id)" \
        --public-key="$(json_field "$ENROLMENT" public_key)" \
        --imsi "$(json_field "$ENROLMENT" imsi)" --iccid "$(json_field "$ENROLMENT" iccid)" \
        --msisdn "$(json_field "$ENROLMENT" msisdn)" --site "$(json_field "$ENROLMENT" site)"
    if [ ! -f "$GMLC_STATE/$WEB_CLIENT.password" ]; then
        # Line 1: the zone files as a JSON list; line 2: the trust anchor file.
        python - "$DNS_DIR" "$DEMO_DOMAIN" "$SALVE_DEMO_ISSUER" > "$DNS_DIR.txt" <<'EOF'
import json
import sys
from pathlib import Path

from mlp.dnsrecords import GmlcEndpoint, SalvePolicy
from verifier.dnslab import write_site_zone

directory, domain, issuer = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
policy = SalvePolicy((GmlcEndpoint(issuer, 9211),), 300, "one")
zones, anchor = write_site_zone(directory, domain, policy)
print(json.dumps([str(zone) for zone in zones]))
print(anchor)
EOF
        { read -r zone_files; read -r anchor; } < "$DNS_DIR.txt"
        # The web servers (and the front) connect from the private networks of the
        # container host; the client may connect from nowhere else.
        SALVE_GMLC_DNS_ZONE_FILES="$zone_files" SALVE_GMLC_DNS_TRUST_ANCHOR="$anchor" \
            salve-gmlc --config "$GMLC_CONFIG" client add "$WEB_CLIENT" \
            --msisdn "$(json_field "$ENROLMENT" msisdn)" --domain "$DEMO_DOMAIN" \
            --from 10.0.0.0/8 --from 172.16.0.0/12 --from 192.168.0.0/16 --from 127.0.0.0/8 \
            --json > "$GMLC_STATE/$WEB_CLIENT.json"
        json_field "$GMLC_STATE/$WEB_CLIENT.json" password > "$GMLC_STATE/$WEB_CLIENT.password"
        rm "$GMLC_STATE/$WEB_CLIENT.json"
    fi
    ;;
password)
    cat "$GMLC_STATE/$WEB_CLIENT.password"
    ;;
appliance)
    exec salve-appliance run
    ;;
*)
    echo "salve-stack: unknown role '${1:-}' (gmlc-init, gmlc, gmlc-ready, appliance-init, enrol, password, appliance)" >&2
    exit 2
    ;;
esac
