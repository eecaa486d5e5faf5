# Offline stand-in for the official PostgreSQL image that deploy/compose/compose.yaml names, for the
# docker end-to-end check only (deploy/tools/e2e-compose.sh): no registry is reachable there, so the
# Debian base it builds (debootstrap + docker import, PostgreSQL 15 from Debian) is given the official
# image's small interface: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, data in PGDATA, port 5432.
# Build context: this folder (deploy/tools/e2e).
ARG BASE_IMAGE=agora-e2e/bookworm:local
FROM ${BASE_IMAGE}
COPY postgres-standin-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
# The data folder must belong to postgres before a named volume is first mounted on it.
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
# Debian assigns the postgres uid at install time; the name is what this stand-in knows.
# hadolint ignore=DL3066
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
