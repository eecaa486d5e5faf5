"""A small NetworkPolicy evaluator: may traffic go from one pod (or an outside address) to another?

Semantics of networking.k8s.io/v1 for one namespace: a pod selected by any policy with a policy type
is isolated in that direction, and then only traffic some rule of those policies allows may pass; a
connection needs both the source's egress and the destination's ingress. Peers are pods of this
namespace (podSelector), pods of any namespace (namespaceSelector {} + podSelector), or outside
addresses (a rule without peers, or an ipBlock). Named ports are not modelled: Agora's policies use
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.deploy.manifests import Doc, selector_matches


@dataclass(frozen=True)
class Endpoint:
    """A pod (labels, and whether it lives in Agora's namespace) or, with labels=None, an outside address."""

    labels: dict[str, str] | None = None
    same_namespace: bool = True
    name: str = field(default="", compare=False)

    @property
    def is_pod(self) -> bool:
        return self.labels is not None


OUTSIDE = Endpoint(None, False, "outside")


def _peer_matches(peer: Doc, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return not other.is_pod  # the cluster's pod addresses are not what Agora's ipBlocks name
    if not other.is_pod:
        return False
    assert other.labels is not None
    if "namespaceSelector" in peer:
        ns = peer["namespaceSelector"]
        if ns and not other.same_namespace:
            return False  # labelled namespaces are not modelled: only {} (every namespace)
        return selector_matches(peer.get("podSelector", {}), other.labels)
    return other.same_namespace and selector_matches(peer.get("podSelector", {}), other.labels)


def _rule_allows(rule: Doc, peers_key: str, other: Endpoint, port: int, protocol: str) -> bool:
    peers = rule.get(peers_key)
    if peers is not None and not any(_peer_matches(p, other) for p in peers):
        return False
    ports = rule.get("ports")
    if ports is None:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p:
            return True
        lo, hi = p["port"], p.get("endPort", p["port"])
        if isinstance(lo, int) and lo <= port <= hi:
            return True
    return False


def _direction_allows(policies: list[Doc], pod: Endpoint, other: Endpoint, port: int, protocol: str,
                      direction: str) -> bool:
    if not pod.is_pod or not pod.same_namespace:
        return True  # outside this namespace's policies
    assert pod.labels is not None
    kind, rules_key, peers_key = ("Ingress", "ingress", "from") if direction == "ingress" else ("Egress", "egress", "to")
    selecting = [p for p in policies
                 if selector_matches(p["spec"].get("podSelector", {}), pod.labels)
                 and kind in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True
    return any(_rule_allows(rule, peers_key, other, port, protocol)
               for policy in selecting for rule in policy["spec"].get(rules_key) or [])


def allowed(policies: list[Doc], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    return (_direction_allows(policies, src, dst, port, protocol, "egress")
            and _direction_allows(policies, dst, src, port, protocol, "ingress"))
