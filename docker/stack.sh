#!/bin/sh
# The roles of the container image in compose.yaml: one word each, every step idempotent
# (a second `docker compose up` finds the state and keeps it).
set -eu

GMLC_STATE=/var/lib/salve-gmlc
GMLC_CONFIG="$GMLC_STATE/gmlc.toml"
APPLIANCE_STATE=/var/lib/salve-appliance
ENROLMENT="$APPLIANCE_STATE/enrollment.json"
WEB_CLIENT=web-1

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
    if [ ! -f "$GMLC_CONFIG" ]; then
        salve-gmlc init --state-dir "$GMLC_STATE" --issuer "$SALVE_DEMO_ISSUER"
    fi
    if [ ! -f "$GMLC_STATE/tls/gmlc.key" ]; then
        mkdir -p "$GMLC_STATE/tls"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -subj "/CN=gmlc" -addext "subjectAltName=DNS:gmlc,DNS:localhost,IP:127.0.0.1" \
            -keyout "$GMLC_STATE/tls/gmlc.key" -out "$GMLC_STATE/tls/gmlc.crt" 2>/dev/null
        chmod 0644 "$GMLC_STATE/tls/gmlc.crt"
    fi
    salve-gmlc db upgrade --config "$GMLC_CONFIG"
    cells="$(python -c 'from importlib.resources import files; print(files("appliance") / "data" / "demo_cells.csv")')"
    salve-gmlc cells import --config "$GMLC_CONFIG" "$cells"
    ;;
gmlc)
    export SALVE_GMLC_HOST=0.0.0.0 SALVE_GMLC_PORT=9211
    export SALVE_GMLC_TLS_CERT="$GMLC_STATE/tls/gmlc.crt" SALVE_GMLC_TLS_KEY="$GMLC_STATE/tls/gmlc.key"
    exec salve-gmlc serve --config "$GMLC_CONFIG"
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
    tolerate_conflict salve-gmlc appliance add "$(json_field "$ENROLMENT" appliance_id)" \
        --public-key="$(json_field "$ENROLMENT" public_key)" \
        --imsi "$(json_field "$ENROLMENT" imsi)" --iccid "$(json_field "$ENROLMENT" iccid)" \
        --msisdn "$(json_field "$ENROLMENT" msisdn)" --site "$(json_field "$ENROLMENT" site)" \
        --config "$GMLC_CONFIG"
    if [ ! -f "$GMLC_STATE/$WEB_CLIENT.password" ]; then
        salve-gmlc client add "$WEB_CLIENT" --msisdn "$(json_field "$ENROLMENT" msisdn)" \
            --json --config "$GMLC_CONFIG" > "$GMLC_STATE/$WEB_CLIENT.json"
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
