#!/bin/sh
# The roles of the container image in compose.yaml: one word each, every step idempotent
# (a second `docker compose up` finds the state and keeps it). SALVE_STACK_GMLC_STATE,
# SALVE_STACK_APPLIANCE_STATE, SALVE_STACK_FRONT_STATE and SALVE_STACK_APP_ROOT move the
# state directories, and SALVE_STACK_APP_PORT the application's port, to run the roles
# outside a container (the tests do).
set -eu

GMLC_STATE="${SALVE_STACK_GMLC_STATE:-/var/lib/salve-gmlc}"
GMLC_CONFIG="$GMLC_STATE/gmlc.toml"
APPLIANCE_STATE="${SALVE_STACK_APPLIANCE_STATE:-/var/lib/salve-appliance}"
ENROLMENT="$APPLIANCE_STATE/enrollment.json"
WEB_CLIENT=web-1
DEMO_DOMAIN="${SALVE_DEMO_DOMAIN:-www.demo.invalid}"
# The demo domain's DNSSEC-signed zone (the GMLC's issuer is in it too), as files: the
# GMLC enrols a domain only after validating that its _salve policy names the GMLC, and
# the front serves only keys whose declarations validate (there is no DNS in the stack).
DNS_DIR="$GMLC_STATE/dns"
FRONT_STATE="${SALVE_STACK_FRONT_STATE:-/var/lib/salve-front}"
FRONT_CONFIG="$FRONT_STATE/front.toml"
# What a client needs to check the site from outside the stack: the signed zone, its
# trust anchor, and the site's and the GMLC's throw-away certificates as one CA file.
CLIENT_FILES="$FRONT_STATE/client"
# The web application behind the front: a static page.
APP_ROOT="${SALVE_STACK_APP_ROOT:-/var/lib/salve-app}"
APP_PORT="${SALVE_STACK_APP_PORT:-8080}"

# salve-gmlc exits 4 for "already there": fine on a second start.
tolerate_conflict() {
    status=0
    "$@" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 4 ]
}

json_field() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or "")' "$1" "$2"
}

# A throw-away self-signed P-256 certificate: self_signed DIRECTORY NAME SUBJECT_ALT_NAMES
# writes DIRECTORY/NAME.crt and DIRECTORY/NAME.key.
self_signed() {
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=$2" -addext "subjectAltName=$3" \
        -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
    chmod 0600 "$1/$2.key"
    chmod 0644 "$1/$2.crt"
}

# Signs the demo domain's zone (the domain's parent, the top of its own tree) with a fresh
# key into $DNS_DIR, holding the records of the master-file lines in file $1. Writes
# $DNS_DIR.txt: line 1 the zone files as a JSON list, line 2 the trust anchor file.
sign_demo_zone() {
    python - "$DNS_DIR" "$DEMO_DOMAIN" "$1" > "$DNS_DIR.txt" <<'EOF'
import json
import sys
from pathlib import Path

from demo.zones import parse_zone_lines
from verifier.dnslab import LabZone, sign_lab, write_lab

directory, domain, lines = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]).read_text()
zone = LabZone(domain.split(".", 1)[1], records=tuple(parse_zone_lines(lines)))
zones, anchor = write_lab(sign_lab([zone]), directory)
print(json.dumps([str(path) for path in zones]))
print(anchor)
EOF
}

case "${1:-}" in
gmlc-init)
    # Clients reach the GMLC by its issuer name (the policy's gmlc=), the front and the
    # appliance as gmlc. A certificate without the issuer (an older image's) is replaced.
    if [ ! -f "$GMLC_STATE/tls/gmlc.key" ] \
        || ! openssl x509 -in "$GMLC_STATE/tls/gmlc.crt" -noout -ext subjectAltName \
            | grep -Fq "DNS:$SALVE_DEMO_ISSUER,"; then
        self_signed "$GMLC_STATE/tls" gmlc \
            "DNS:gmlc,DNS:$SALVE_DEMO_ISSUER,DNS:localhost,IP:127.0.0.1"
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
    exec python -c 'import httpx, sys; sys.exit(httpx.get(f"https://127.0.0.1:{sys.argv[1]}/readyz", verify=False, timeout=3).status_code != 200)' \
        "${SALVE_GMLC_PORT:-9211}"
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
        # The demo domain's policy names this GMLC: what the enrolment below validates.
        python - "$DEMO_DOMAIN" "$SALVE_DEMO_ISSUER" > "$DNS_DIR.records" <<'EOF'
import sys

from mlp.dnsrecords import GmlcEndpoint, SalvePolicy, policy_record_name
from verifier.dnslab import presentation

domain, issuer = sys.argv[1], sys.argv[2]
policy = SalvePolicy((GmlcEndpoint(issuer, 9211),), 300, "one")
print(f"{policy_record_name(domain)}. 300 IN TXT {presentation('TXT', policy.to_text())}")
EOF
        sign_demo_zone "$DNS_DIR.records"
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
front-init)
    if [ ! -f "$FRONT_STATE/tls/$DEMO_DOMAIN.key" ]; then
        self_signed "$FRONT_STATE/tls" "$DEMO_DOMAIN" "DNS:$DEMO_DOMAIN"
    fi
    (umask 077 && cp "$GMLC_STATE/$WEB_CLIENT.password" "$FRONT_STATE/gmlc.password")
    { read -r zone_files; read -r anchor; } < "$DNS_DIR.txt"
    # The site stands where the demo SIM's serving cell is (demo/data/demo_cells.csv).
    site="$(python -c 'from demo.world import ZURICH as s; print(s.lat, s.lon, s.precision_m, s.name)')"
    read -r lat lon precision site_name <<EOF
$site
EOF
    cat > "$FRONT_CONFIG.tmp" <<EOF
# Written by salve-stack front-init on every start.
[tls]
listen = "0.0.0.0:8443"

[[tls.certificates]]
chain = "$FRONT_STATE/tls/$DEMO_DOMAIN.crt"
key = "$FRONT_STATE/tls/$DEMO_DOMAIN.key"

[upstream]
url = "http://app:$APP_PORT"

[gmlc]
url = "https://gmlc:9211"
name = "$SALVE_DEMO_ISSUER"
client_id = "$WEB_CLIENT"
password_file = "$FRONT_STATE/gmlc.password"
ca_file = "$GMLC_STATE/tls/gmlc.crt"
msisdn = "$(json_field "$ENROLMENT" msisdn)"

[site]
domains = ["$DEMO_DOMAIN"]
state_dir = "$FRONT_STATE"

[[site.locations]]
name = "$site_name"
lat = $lat
lon = $lon
precision_m = $precision

[dns]
zone_files = $zone_files
trust_anchor = "$anchor"
EOF
    mv "$FRONT_CONFIG.tmp" "$FRONT_CONFIG"
    # The M2DMRT exchange with the GMLC, then both sides' records (the site's policy, LOC
    # and declaration; the GMLC's key pins and declaration) signed into the zone files.
    salve-front declare --config "$FRONT_CONFIG"
    salve-front dns records --config "$FRONT_CONFIG" > "$DNS_DIR.records"
    salve-gmlc --config "$GMLC_CONFIG" dns records >> "$DNS_DIR.records"
    sign_demo_zone "$DNS_DIR.records"
    salve-front check --config "$FRONT_CONFIG"
    mkdir -p "$CLIENT_FILES"
    { read -r zone_files; read -r anchor; } < "$DNS_DIR.txt"
    python -c 'import json, shutil, sys; [shutil.copy(path, sys.argv[2]) for path in json.loads(sys.argv[1])]' \
        "$zone_files" "$CLIENT_FILES"
    cp "$anchor" "$CLIENT_FILES/trust-anchor.txt"
    cat "$FRONT_STATE/tls/$DEMO_DOMAIN.crt" "$GMLC_STATE/tls/gmlc.crt" > "$CLIENT_FILES/ca.pem"
    ;;
app)
    mkdir -p "$APP_ROOT"
    printf '<!doctype html>\n<title>%s</title>\n<p>The demo site, behind the SALVE front.</p>\n' \
        "$DEMO_DOMAIN" > "$APP_ROOT/index.html"
    exec python -m http.server --bind 0.0.0.0 --directory "$APP_ROOT" "$APP_PORT"
    ;;
front)
    exec salve-front serve --config "$FRONT_CONFIG"
    ;;
front-ready)
    # A request through the front to the application, for the demo domain (SNI).
    exec python - "$FRONT_CONFIG" "$DEMO_DOMAIN" <<'EOF'
import sys
from pathlib import Path

import httpx

from front.config import load_config, parse_listen

_, port = parse_listen(load_config(Path(sys.argv[1])).tls.listen)
with httpx.Client(verify=False, timeout=3) as client:
    answer = client.get(f"https://127.0.0.1:{port}/", extensions={"sni_hostname": sys.argv[2]})
sys.exit(answer.status_code != 200)
EOF
    ;;
*)
    echo "salve-stack: unknown role '${1:-}' (gmlc-init, gmlc, gmlc-ready, appliance-init, enrol, password, appliance, front-init, app, front, front-ready)" >&2
    exit 2
    ;;
esac
