"""kafka-python session for the fuzz corpus: admin calls, produce with every codec, a consumer
group with commits, and offset queries.

Usage: kafka-python-session.py BOOTSTRAP   (run by capture.mjs behind its recording proxy)
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ConfigResource,
                         ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic, ResourcePatternFilter,
                         ResourceType)

bootstrap = sys.argv[1]
common = {"bootstrap_servers": bootstrap, "client_id": "fz-kafka-python"}

admin = KafkaAdminClient(**common)
admin.create_topics([NewTopic("fz-py-a", 2, 1), NewTopic("fz-py-b", 1, 1, topic_configs={"cleanup.policy": "compact"}),
                     NewTopic("fz-py-gone", 1, 1)])
admin.list_topics()
admin.describe_topics(["fz-py-a"])
admin.create_partitions({"fz-py-a": NewPartitions(3)})
admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "fz-py-a")])
admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "fz-py-b", configs={"retention.ms": "3600000"})])

for codec in [None, "gzip", "snappy", "lz4", "zstd"]:
    p = KafkaProducer(**common, compression_type=codec, acks="all", linger_ms=5)
    for i in range(4):
        p.send("fz-py-a", key=None if i == 1 else f"k{i}".encode(), value=f"{codec}-{i}".encode(),
               partition=i % 3, headers=[("h", b"v")] if i == 2 else None)
    p.flush(20)
    p.close()

p = KafkaProducer(**common, acks=1)
p.send("fz-py-auto", value=b"auto-created")
p.send("fz-py-b", key=b"ck", value=b"compact-me")
p.flush(20)
p.close()

c = KafkaConsumer("fz-py-a", "fz-py-b", **common, group_id="fz-py-group", auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                  fetch_max_wait_ms=100)
got = 0
deadline = time.time() + 30
while got < 10 and time.time() < deadline:
    for records in c.poll(500).values():
        got += len(records)
c.commit()
c.committed(TopicPartition("fz-py-a", 0))
c.end_offsets([TopicPartition("fz-py-a", 0)])
c.beginning_offsets([TopicPartition("fz-py-a", 0)])
c.offsets_for_times({TopicPartition("fz-py-a", 0): int(time.time() * 1000) - 60000})
c.close()

admin.list_consumer_groups()
admin.describe_consumer_groups(["fz-py-group"])
admin.list_consumer_group_offsets("fz-py-group")
admin.delete_consumer_groups(["fz-py-group"])
admin.delete_topics(["fz-py-gone"])
admin.describe_cluster()
admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
try:
    admin.describe_acls(ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                  permission_type=ACLPermissionType.ANY,
                                  resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
except Exception as e:  # a broker without an authorizer answers SECURITY_DISABLED
    print(f"describe_acls: {e}", file=sys.stderr)
admin.close()
