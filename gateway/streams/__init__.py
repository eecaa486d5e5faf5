"""Live event streams: Kafka events relayed to client apps over Server-Sent Events and WebSocket.

    channels.py   what a channel is (`me`, `topic:{tag}`, `post:{id}`), its topics, who may subscribe,
                  which events it carries
    positions.py  the resume id: a channel's full Kafka position vector, compactly encoded
    hub.py        one Kafka reader per topic per process, fanned out in memory to bounded subscriber
                  queues; resumed subscribers catch up from Kafka first
    api.py        GET /v1/streams/{channel} (SSE) and /v1/streams/{channel}/ws (WebSocket)
"""
