"""Which Agora posts a message links to: the solicitation signal voting relies on.

Recognised forms (case-insensitive, anywhere in the text):
    https://<any host>[:port]/posts/<post uuid>[/…][?…][#…]     also http://
    agora://posts/<post uuid>
The host is not checked: the same post is reachable through every deployment's domain, mirrors and link
shorteners' expansions, and a link that points elsewhere names a post id that no vote will match anyway.
The id must be a full, hyphenated UUID followed by the end of the link; ids are returned in order of first
appearance, without repeats, at most `MAX_LINKED_POSTS`.
"""

from __future__ import annotations

import re
import uuid

MAX_LINKED_POSTS = 10

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_POST_LINK = re.compile(
    rf"""(?:\bhttps?://[^\s/?#]+/posts/|\bagora://posts/)({_UUID})(?=$|[\s/?#.,;:!)\]>'"])""",
    re.IGNORECASE,
)


def linked_post_ids(text: str) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    for match in _POST_LINK.finditer(text):
        post = uuid.UUID(match.group(1))
        if post not in found:
            found.append(post)
            if len(found) == MAX_LINKED_POSTS:
                break
    return found
