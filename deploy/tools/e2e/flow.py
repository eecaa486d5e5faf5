"""One member journey through the gateway of a running Agora, as a client app makes it. Fails loudly:
any unexpected status or body ends the run with the step, the request and the answer.

    python3 deploy/tools/e2e/flow.py http://127.0.0.1:18080

Steps: register two members, sign both in, bob follows alice, alice posts, bob votes +1 on the post,
and the post's tally shows the vote (the tally consumer has read it from Kafka and committed it).
Standard library only, so it runs with any Python 3.11 on the host.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

TALLY_DEADLINE_S = 60
VOTE_DEADLINE_S = 30


class FlowFailed(Exception):
    pass


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, step: str, method: str, path: str, body: Any = None, token: str | None = None,
             expect: tuple[int, ...] = (200,)) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("accept", "application/json")
        if data is not None:
            req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except OSError as err:
            raise FlowFailed(f"{step}: {method} {path}: no answer ({err})") from None
        text = raw.decode(errors="replace")
        if status not in expect:
            raise FlowFailed(f"{step}: {method} {path} -> {status} (expected {expect}): {text[:500]}")
        print(f"  ok  {step}: {method} {path} -> {status}", flush=True)
        try:
            return json.loads(text) if text else None
        except ValueError:
            raise FlowFailed(f"{step}: {method} {path} answered {status} with a body that is not JSON: {text[:200]}") from None


def field(step: str, body: Any, name: str) -> Any:
    if not isinstance(body, dict) or name not in body:
        raise FlowFailed(f"{step}: the answer has no {name!r}: {json.dumps(body)[:300]}")
    return body[name]


def run(base: str) -> None:
    api = Client(base)
    api.call("gateway alive", "GET", "/healthz")
    run_id = uuid.uuid4().hex[:8]
    members: dict[str, dict[str, str]] = {}
    for name in ("alice", "bob"):
        account = {"email": f"{name}.{run_id}@example.org", "handle": f"{name}_{run_id}", "password": f"correct horse {run_id}"}
        created = api.call(f"register {name}", "POST", "/v1/accounts", account, expect=(201,))
        session = api.call(f"sign in {name}", "POST", "/v1/sessions",
                           {"email": account["email"], "password": account["password"]}, expect=(200, 201))
        members[name] = {"id": field(f"register {name}", created, "id"),
                         "token": field(f"sign in {name}", session, "access_token")}
    alice, bob = members["alice"], members["bob"]

    api.call("bob follows alice", "PUT", f"/v1/follows/{alice['id']}", token=bob["token"], expect=(201,))
    post = api.call("alice posts", "POST", "/v1/posts",
                    {"kind": "article", "title": f"Hello from {run_id}", "body": "Deployed by compose.", "topics": ["e2e"]},
                    token=alice["token"], expect=(201,))
    post_id = field("alice posts", post, "id")
    api.call("bob reads the post", "GET", f"/v1/posts/{post_id}", token=bob["token"])
    # Voting learns of a post from content's post.created event (outbox -> relay -> Kafka -> voting events),
    # so for a moment after posting the target is unknown to it: 404 target_not_found, then 202.
    deadline = time.monotonic() + VOTE_DEADLINE_S
    while True:
        answer = api.call("bob votes +1", "POST", "/v1/votes", {"target_id": post_id, "value": 1},
                          token=bob["token"], expect=(202, 404))
        if isinstance(answer, dict) and answer.get("status") == "accepted":
            break
        unknown_target = isinstance(answer, dict) and answer.get("error") == "target_not_found"
        if not unknown_target or time.monotonic() > deadline:
            raise FlowFailed(f"bob votes +1: not accepted within {VOTE_DEADLINE_S} s: {json.dumps(answer)[:300]}")
        time.sleep(1)

    deadline = time.monotonic() + TALLY_DEADLINE_S
    last: Any = None
    while time.monotonic() < deadline:
        last = api.call("read the tally", "GET", f"/v1/tallies/{post_id}", token=alice["token"], expect=(200, 404))
        if isinstance(last, dict) and last.get("ups") == 1 and last.get("score") == 1:
            print(f"  ok  tally of {post_id}: {json.dumps(last)}")
            return
        time.sleep(1)
    raise FlowFailed(f"the tally did not show bob's vote within {TALLY_DEADLINE_S} s; last answer: {json.dumps(last)[:300]}")


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18080"
    try:
        run(base)
    except FlowFailed as failure:
        print(f"FLOW FAILED: {failure}", file=sys.stderr)
        return 1
    print("flow passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
