"""Agora's shared kernel: the domain-free parts every service is built from.

It knows processes, databases, streams and HTTP, never a product noun. It imports nothing from a
service. Modules, one concept each:

    settings   pydantic-settings base with per-service prefixes and shared infrastructure variables
    logs       structured JSON logs carrying the trace id
    tracing    W3C traceparent: parse, make, carry in a context variable
    errors     the one error root and its JSON shape
    db         engine, sessions, naming convention
    events     CloudEvents 1.0 envelope and event type declarations (binary mode over Kafka)
    topics     Kafka topic declarations and creation
    outbox     transactional outbox table, writer and relay
    consumer   idempotent consumer runner (inbox + stored offsets, dead letters, rebalance-safe)
    auth       access-token verification against a JWKS
    web        the FastAPI app factory every service uses, health routes, request sessions
    worker     running a background worker with its health endpoints
    migrate    Alembic runner for a service's migrations folder
    platform   readiness checks for PostgreSQL and Kafka (used by the local platform scripts)
"""
