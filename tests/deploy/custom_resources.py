"""Structural schemas for the custom resources Agora's manifests use (Strimzi, CloudNativePG, KEDA).

kubernetes-validate knows only built-in kinds, and the operators' CRDs are too large to vendor (and not
ours to copy), so these schemas are written here from the operators' API references, for the fields
Agora uses: required fields, types and enums, the string-only maps (CloudNativePG's
postgresql.parameters, KEDA's trigger metadata), and closed objects where a misspelt field would
otherwise be silently ignored by the operator. They are a structural check, not the CRDs: extend them
when the manifests use a field they do not list.
"""

from __future__ import annotations

from typing import Any

INT = {"type": "integer"}
STR = {"type": "string"}
QUANTITY = {"type": ["string", "integer"]}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": QUANTITY},
        "limits": {"type": "object", "additionalProperties": QUANTITY},
    },
}


def closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


def resource(api_version: str, kind: str, spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = metadata or {"type": "object", "required": ["name"]}
    return closed({"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": meta, "spec": spec},
                  ("apiVersion", "kind", "metadata", "spec"))


STRIMZI_CLUSTER_LABEL = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {"labels": {"type": "object", "required": ["strimzi.io/cluster"]}},
}

JBOD_VOLUME = closed({
    "id": {"type": "integer", "minimum": 0},
    "type": {"enum": ["ephemeral", "persistent-claim"]},
    "size": STR,
    "sizeLimit": STR,
    "class": STR,
    "deleteClaim": {"type": "boolean"},
    "kraftMetadata": {"enum": ["shared"]},
}, ("id", "type"))

SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): resource("kafka.strimzi.io/v1beta2", "KafkaTopic", closed({
        "partitions": {"type": "integer", "minimum": 1},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
        "config": {"type": "object"},
        "topicName": STR,
    }), STRIMZI_CLUSTER_LABEL),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): resource("kafka.strimzi.io/v1beta2", "KafkaNodePool", closed({
        "replicas": {"type": "integer", "minimum": 0},
        "roles": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["controller", "broker"]}},
        "storage": closed({
            "type": {"enum": ["ephemeral", "persistent-claim", "jbod"]},
            "volumes": {"type": "array", "minItems": 1, "items": JBOD_VOLUME},
            "size": STR,
            "sizeLimit": STR,
            "deleteClaim": {"type": "boolean"},
        }, ("type",)),
        "resources": RESOURCES,
        "jvmOptions": {"type": "object", "properties": {"-Xms": STR, "-Xmx": STR}},
        "template": {"type": "object"},
    }, ("replicas", "roles", "storage")), STRIMZI_CLUSTER_LABEL),
    ("kafka.strimzi.io/v1beta2", "Kafka"): resource("kafka.strimzi.io/v1beta2", "Kafka", closed({
        "kafka": closed({
            "version": STR,
            "metadataVersion": STR,
            "listeners": {"type": "array", "minItems": 1, "items": closed({
                "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
                "port": {"type": "integer", "minimum": 9092},
                "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},
                "tls": {"type": "boolean"},
                "authentication": {"type": "object"},
                "configuration": {"type": "object"},
                "networkPolicyPeers": {"type": "array"},
            }, ("name", "port", "type", "tls"))},
            "config": {"type": "object"},
            "authorization": {"type": "object"},
            "rack": {"type": "object"},
            "resources": RESOURCES,
            "jvmOptions": {"type": "object"},
            "metricsConfig": {"type": "object"},
            "logging": {"type": "object"},
            "template": {"type": "object"},
        }, ("listeners",)),
        "entityOperator": closed({"topicOperator": {"type": "object"}, "userOperator": {"type": "object"},
                                  "template": {"type": "object"}}),
        "cruiseControl": {"type": "object"},
        "kafkaExporter": {"type": "object"},
    }, ("kafka",)), {"type": "object", "required": ["name"]}),
    ("postgresql.cnpg.io/v1", "Cluster"): resource("postgresql.cnpg.io/v1", "Cluster", closed({
        "instances": {"type": "integer", "minimum": 1},
        "imageName": STR,
        "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
        "bootstrap": closed({"initdb": closed({"database": STR, "owner": STR, "secret": closed({"name": STR}, ("name",))})}),
        "postgresql": closed({"parameters": {"type": "object", "additionalProperties": STR},
                              "pg_hba": {"type": "array", "items": STR}}),
        "storage": closed({"size": STR, "storageClass": STR, "resizeInUseVolumes": {"type": "boolean"}}, ("size",)),
        "resources": RESOURCES,
        "affinity": closed({"podAntiAffinityType": {"enum": ["preferred", "required"]},
                            "topologyKey": STR, "enablePodAntiAffinity": {"type": "boolean"}}),
        "monitoring": {"type": "object"},
        "backup": {"type": "object"},
    }, ("instances", "storage"))),
    ("keda.sh/v1alpha1", "ScaledObject"): resource("keda.sh/v1alpha1", "ScaledObject", closed({
        "scaleTargetRef": closed({"name": STR, "kind": STR, "apiVersion": STR, "envSourceContainerName": STR}, ("name",)),
        "minReplicaCount": {"type": "integer", "minimum": 0},
        "maxReplicaCount": {"type": "integer", "minimum": 1},
        "idleReplicaCount": INT,
        "pollingInterval": {"type": "integer", "minimum": 1},
        "cooldownPeriod": {"type": "integer", "minimum": 0},
        "initialCooldownPeriod": INT,
        "advanced": closed({
            "horizontalPodAutoscalerConfig": closed({"name": STR, "behavior": {"type": "object"}}),
            "restoreToOriginalReplicaCount": {"type": "boolean"},
            "scalingModifiers": {"type": "object"},
        }),
        "fallback": {"type": "object"},
        "triggers": {"type": "array", "minItems": 1, "items": closed({
            "type": STR,
            "name": STR,
            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
            "useCachedMetrics": {"type": "boolean"},
            # Trigger metadata is a map of strings in KEDA's API: numbers must be quoted.
            "metadata": {"type": "object", "additionalProperties": STR},
            "authenticationRef": closed({"name": STR, "kind": STR}, ("name",)),
        }, ("type", "metadata"))},
    }, ("scaleTargetRef", "triggers"))),
}


def schema_for(doc: dict[str, Any]) -> dict[str, Any] | None:
    return SCHEMAS.get((doc.get("apiVersion", ""), doc.get("kind", "")))
