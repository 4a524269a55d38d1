"""Consumer-group administration against a Samsa broker with both Python admin clients.

kafka-python's KafkaAdminClient lists, describes and deletes groups and lists their committed
offsets. Neither installed client has alter_consumer_group_offsets (confluent-kafka 1.7 predates
it), so offsets are altered the way Kafka's AdminClient does it on the wire: an OffsetCommit
with generation -1 and no member id, sent here by a confluent-kafka consumer that never joins.

Usage: kafka-python-group-admin.py BOOTSTRAP TOPIC LIVE_GROUP IDLE_GROUP
LIVE_GROUP has an active member (started by the test); IDLE_GROUP does not exist yet.
Prints one JSON object on stdout; diagnostics go to stderr.
"""
import json
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KTopicPartition

bootstrap, topic, live, idle = sys.argv[1:5]
out = {}
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="samsa-group-admin")


def alter_offsets(group, offsets):
    """Commits {partition: offset} for `group` without joining it; returns the error name or None."""
    c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": group, "enable.auto.commit": False})
    try:
        result = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
        errors = [tp.error.name() for tp in result if tp.error is not None]
        return errors[0] if errors else None
    except KafkaException as e:
        return e.args[0].name()
    finally:
        c.close()


def committed(group):
    offsets = admin.list_consumer_group_offsets(group)
    return {str(tp.partition): om.offset for tp, om in sorted(offsets.items()) if tp.topic == topic}


def describe(group):
    (g,) = admin.describe_consumer_groups([group])
    members = []
    for m in g.members:
        assignment = m.member_assignment
        partitions = []
        if assignment is not None and hasattr(assignment, "assignment"):
            partitions = sorted(p for t, ps in assignment.assignment if t == topic for p in ps)
        topics = list(m.member_metadata.subscription) if m.member_metadata is not None and hasattr(m.member_metadata, "subscription") else []
        members.append({"clientId": m.client_id, "clientHost": m.client_host, "topics": topics, "partitions": partitions})
    return {"error": g.error_code, "state": g.state, "protocolType": g.protocol_type, "protocol": g.protocol, "members": members}


out["alterIdle"] = alter_offsets(idle, {0: 5, 1: 6, 2: 7})
out["idleOffsets"] = committed(idle)
out["alterLive"] = alter_offsets(live, {0: 0})
out["liveOffsets"] = committed(live)
out["listed"] = sorted([g, t] for g, t in admin.list_consumer_groups() if g in (live, idle))
out["describeLive"] = describe(live)
out["describeIdle"] = describe(idle)
# Only this partition's offset is requested back.
only = admin.list_consumer_group_offsets(idle, partitions=[KTopicPartition(topic, 1)])
out["idlePartition1"] = {str(tp.partition): om.offset for tp, om in only.items()}

# confluent-kafka's AdminClient.list_groups describes every group in one call.
confluent = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
out["confluentGroups"] = sorted(
    [g.id, g.state, g.protocol_type, len(g.members)] for g in confluent.list_groups(timeout=10) if g.id in (live, idle)
)

deleted = admin.delete_consumer_groups([idle, live, "no-such-group"])
out["deleted"] = sorted([g, err.__name__] for g, err in deleted)
out["listedAfterDelete"] = sorted(g for g, _ in admin.list_consumer_groups() if g in (live, idle))
out["idleOffsetsAfterDelete"] = committed(idle)
admin.close()
print(json.dumps(out))
