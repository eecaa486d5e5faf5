"""The catalogue of Agora's Kafka topics: the one place where topics and their partition counts live.

Every publisher names its topic from here, `agora topics` creates them at start-up, the Kubernetes
Strimzi component and the AsyncAPI document are generated from / checked against this list.
Partition counts bound consumer parallelism: the tally consumer runs at most `VOTES.partitions` replicas.
"""

from services.kit.topics import Topic

DAY_MS = 24 * 3600 * 1000

PROFILES = Topic("agora.profiles", 6, "member id", "Member accounts, profiles and trust signals (published by profiles).")
CONNECTIONS = Topic("agora.connections", 6, "member id of the actor", "Invitations, connections, follows, blocks and introductions (published by connections).")
CONVERSATIONS = Topic("agora.conversations", 6, "conversation id", "Conversation metadata: messages sent, reads, requests; never message text (published by connections).")
CONTENT = Topic("agora.content", 6, "post id", "Posts, comments and shares (published by content).")
VOTES = Topic("agora.votes", 12, "target id", "Every vote cast, partitioned by target so one consumer owns a target's tally (published by voting's API).", retention_ms=7 * DAY_MS)
TALLIES = Topic("agora.tallies", 6, "target id", "Tally updates (raw and trusted scores) and vote outcome revisions (published by voting's tally consumer).")
INTEGRITY = Topic("agora.integrity", 3, "target id", "Manipulation suspected: decisions for moderators (published by voting's tally consumer).")
DEADLETTER = Topic("agora.deadletter", 3, "original message key", "Messages a consumer could not decode or validate, with the reason in headers.", retention_ms=30 * DAY_MS)

TOPICS: list[Topic] = [PROFILES, CONNECTIONS, CONVERSATIONS, CONTENT, VOTES, TALLIES, INTEGRITY, DEADLETTER]
