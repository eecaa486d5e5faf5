"""The resume id of a stream event: where the subscriber stands in every partition of the channel's topics.

An event's id is the vector of *next* offsets, one per partition of each of the channel's topics (in
the channel's topic order, partitions 0..n-1), taken just after that event: every message at or before
it has been seen (delivered, or read and found not to concern the subscriber), nothing after it has.
Resuming from it therefore delivers exactly the events after it — none lost, none repeated — whichever
gateway replica serves the reconnection, since it holds only Kafka positions.

Encoding: `v1.` + base64url (no padding) of unsigned LEB128 varints: the number of topics, then for each
topic its partition count followed by its offsets. 21 partitions with offsets in the millions take
≈ 90 characters. Anything that does not decode, or whose shape does not match the channel's topics
(another channel's id, a changed partition count), is a 400 `invalid_resume_id`.
"""

from __future__ import annotations

import base64
import binascii

from services.kit.errors import BadRequest

PREFIX = "v1."
MAX_LENGTH = 4096

Vector = list[list[int]]  # per topic (channel order), next offset per partition


def _varint(n: int, out: bytearray) -> None:
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def encode(vector: Vector) -> str:
    out = bytearray()
    _varint(len(vector), out)
    for offsets in vector:
        _varint(len(offsets), out)
        for o in offsets:
            _varint(o, out)
    return PREFIX + base64.urlsafe_b64encode(bytes(out)).rstrip(b"=").decode()


def _bad(why: str) -> BadRequest:
    return BadRequest(f"resume id is not valid for this channel ({why}); reconnect without Last-Event-ID / resume",
                      code="invalid_resume_id")


def decode(resume_id: str, shape: list[int]) -> Vector:
    """The vector of a resume id, checked against the channel's partition counts `shape`."""
    if not resume_id.startswith(PREFIX) or len(resume_id) > MAX_LENGTH:
        raise _bad("unknown format")
    body = resume_id[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _bad("not base64url") from None
    pos = 0

    def read() -> int:
        nonlocal pos
        n = shift = 0
        while True:
            if pos >= len(raw) or shift > 63:
                raise _bad("truncated")
            b = raw[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    topics = read()
    if topics != len(shape):
        raise _bad("another channel's position")
    vector: Vector = []
    for partitions in shape:
        if read() != partitions:
            raise _bad("partition layout changed")
        vector.append([read() for _ in range(partitions)])
    if pos != len(raw):
        raise _bad("trailing bytes")
    return vector
