# SALVE in a container, for trying the whole stack (compose.yaml), not for production:
# the appliance belongs on a box with a real modem, under systemd (README, "Install").
#
#   docker compose up --build
#
# Stage 1 builds the wheel exactly as `make dist` does; stage 2 installs it, with the
# PostgreSQL driver, into a virtual environment owned by nobody but root.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2"
COPY . .
RUN python -m build --wheel --outdir /dist .

FROM python:3.11-slim
# openssl: the demo's throw-away TLS certificates, the GMLC's and the site's
# (docker/stack.sh).
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /dist/*.whl /tmp/
RUN python -m venv /opt/salve \
    && wheel="$(ls /tmp/salve-*.whl)" \
    && /opt/salve/bin/pip install --no-cache-dir "${wheel}[postgres]" \
    && rm /tmp/*.whl \
    && useradd --system --home-dir /var/lib/salve --shell /usr/sbin/nologin salve \
    && install -d -o salve -g salve -m 0700 \
        /var/lib/salve-gmlc /var/lib/salve-appliance /var/lib/salve-front /var/lib/salve-app
COPY docker/stack.sh /usr/local/bin/salve-stack
ENV PATH=/opt/salve/bin:$PATH \
    PYTHONUNBUFFERED=1
USER salve
ENTRYPOINT ["salve-stack"]
