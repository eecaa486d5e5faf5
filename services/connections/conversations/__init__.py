"""Conversations between members (issue 9), inside the connections service.

Same inner shape as a service, on connections' schema, outbox and members read model:
    links       which Agora posts a message links to (the solicitation signal)
    repository  queries and adds (never commits)
    service     the rules: requests, blocks, limits, markers; events through the outbox
    schemas     request and response bodies
    api         the `/v1/conversations` routes
See docs/conversations.md.
"""
