"""Stream channels: what each carries and who may subscribe.

| channel        | who may subscribe    | topics                                               | events                                             |
|----------------|----------------------|------------------------------------------------------|----------------------------------------------------|
| `me`           | the signed-in member | agora.connections, agora.conversations, agora.tallies, agora.integrity | events whose audience (below) names the member |
| `topic:{tag}`  | anyone               | agora.content                                        | post.created carrying the tag                       |
| `post:{id}`    | anyone               | agora.content, agora.tallies                         | tally.updated of the post; post.updated/deleted; comment.created/deleted on it |

Posts, comments and tallies are public in Agora; `me` is the only private channel, and an event reaches
a member's `me` only when its audience fields name them. The audience of each known event type is
listed in `AUDIENCE` (a block is told to the blocker, never to the blocked member). Event types not in
the table (new producers) reach only the members named in `FALLBACK_AUDIENCE` fields, which are
recipient-style by name, so adding an event type never leaks it to bystanders. Conversation events name
the recipients who muted the conversation in `muted_ids`: they are left out of the audience and the field
is stripped before streaming (`streamed_data`), so a mute is never told to the other members.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.catalog import CONNECTIONS, CONTENT, CONVERSATIONS, INTEGRITY, TALLIES
from services.kit.auth import Principal
from services.kit.errors import BadRequest, NotFound, Unauthorized
from services.kit.topics import Topic

ME_TOPICS = (CONNECTIONS, CONVERSATIONS, TALLIES, INTEGRITY)

# event type -> the data fields naming the members it concerns
AUDIENCE: dict[str, tuple[str, ...]] = {
    "member.followed": ("followee_id",),
    "member.unfollowed": ("follower_id",),
    "member.blocked": ("blocker_id",),
    "member.unblocked": ("blocker_id",),
    **{f"invitation.{s}": ("from_id", "to_id") for s in ("sent", "accepted", "declined", "withdrawn", "expired")},
    "connection.made": ("a_id", "b_id"),
    "connection.removed": ("a_id", "b_id"),
    **{f"introduction.{s}": ("requester_id", "introducer_id", "target_id") for s in ("requested", "forwarded", "accepted", "declined")},
    "tally.updated": ("author_id",),
    "vote.cast": (),  # never: who voted is not told to anyone
    **{f"message.{s}": ("sender_id", "recipient_ids") for s in ("sent", "edited", "deleted")},
    "message.read": ("member_id", "recipient_ids"),
    "conversation.members_added": ("added_by", "recipient_ids"),  # the new members are among the recipients
    "conversation.member_left": ("member_id", "recipient_ids"),
    **{f"message_request.{s}": ("requester_id", "recipient_id") for s in ("sent", "accepted", "declined")},
    "message.post_linked": (),  # a signal for voting, not a notification (message.sent already told them)
    "conversation.reported": (),  # for moderators: the reported member must never learn who reported them
    "manipulation.suspected": ("author_id",),  # an integrity alert about the author's own post (counts, no voters)
    "vote.outcome_revised": (),  # for moderation tools: telling a voter which of their votes were caught helps evasion
}
FALLBACK_AUDIENCE = ("recipient_id", "recipient_ids", "to_id", "participant_ids", "author_id")
# Recipients named in this field muted the conversation: the event is not streamed to them (the actor's own
# devices still get it), and the field is never streamed to anyone — who muted what is private.
MUTED_FIELD = "muted_ids"
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
POST_EVENTS = {
    "tally.updated": "target_id", "post.updated": "post_id", "post.deleted": "post_id",
    "comment.created": "post_id", "comment.deleted": "post_id",
}


def _members(event_type: str, data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    muted = data.get(MUTED_FIELD)
    quiet = {v for v in muted if isinstance(v, str)} if isinstance(muted, list) else set()
    for f in AUDIENCE.get(event_type, FALLBACK_AUDIENCE):
        value = data.get(f)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str) and not (f == "recipient_ids" and v in quiet))
    return out


def streamed_data(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as subscribers get it: without the private `muted_ids`."""
    return {k: v for k, v in data.items() if k != MUTED_FIELD} if MUTED_FIELD in data else data


def _tags(event_type: str, data: dict[str, Any]) -> list[str]:
    topics = data.get("topics")
    return [t for t in topics if isinstance(t, str)] if event_type == "post.created" and isinstance(topics, list) else []


def _post(event_type: str, data: dict[str, Any]) -> list[str]:
    field = POST_EVENTS.get(event_type)
    value = data.get(field) if field else None
    return [value] if isinstance(value, str) else []


# kind -> (its topics, the channel keys an event is for)
KINDS: dict[str, tuple[tuple[Topic, ...], Callable[[str, dict[str, Any]], list[str]]]] = {
    "me": (ME_TOPICS, _members),
    "topic": ((CONTENT,), _tags),
    "post": ((CONTENT, TALLIES), _post),
}
_KINDS_OF_TOPIC: dict[str, tuple[str, ...]] = {
    t.name: tuple(kind for kind, (topics, _) in KINDS.items() if t in topics) for kind_topics, _ in KINDS.values() for t in kind_topics
}


def routes(topic: str, event_type: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The channels (kind, key) an event read from `topic` (catalogue name, unprefixed) is for."""
    return [(kind, key) for kind in _KINDS_OF_TOPIC.get(topic, ()) for key in KINDS[kind][1](event_type, data)]


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str  # "me" | "topic" | "post"
    topics: tuple[Topic, ...]
    key: str  # the member id, the tag or the post id

    @property
    def route(self) -> tuple[str, str]:
        return (self.kind, self.key)

    def carries(self, event_type: str, data: dict[str, Any]) -> bool:
        return self.key in KINDS[self.kind][1](event_type, data)


def parse_channel(name: str, principal: Principal | None) -> Channel:
    """The channel named in the URL, authorised for the caller: 400 for a malformed name, 404 for an unknown kind."""
    if name == "me":
        if principal is None:
            raise Unauthorized("the `me` stream needs an access token (Authorization header or ?access_token=)",
                               code="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
        return Channel("me", "me", KINDS["me"][0], str(principal.member_id))
    kind, sep, arg = name.partition(":")
    if kind == "topic" and sep:
        tag = arg.strip().lstrip("#").lower()
        if not TAG.match(tag):
            raise BadRequest("a topic tag is 1-40 letters, digits or '-', e.g. topic:python", code="invalid_channel")
        return Channel(f"topic:{tag}", "topic", KINDS["topic"][0], tag)
    if kind == "post" and sep:
        try:
            post = str(uuid.UUID(arg))
        except ValueError:
            raise BadRequest("post:{id} needs a post id (a UUID)", code="invalid_channel") from None
        return Channel(f"post:{post}", "post", KINDS["post"][0], post)
    raise NotFound(f"no stream channel {name!r}; channels are me, topic:{{tag}} and post:{{id}}", code="unknown_channel")
