"""librdkafka (confluent-kafka) session for the fuzz corpus: admin calls, produce with every codec
and idempotence, a transaction, a consumer group with commits, and offset queries.

Usage: librdkafka-session.py BOOTSTRAP   (run by capture.mjs behind its recording proxy)
"""
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

bootstrap = sys.argv[1]
common = {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "client.id": "fz-librdkafka"}


def wait(futures):
    for f in futures.values():
        f.result(timeout=20)


admin = AdminClient(common)
wait(admin.create_topics([NewTopic("fz-rd-a", num_partitions=2, replication_factor=1),
                          NewTopic("fz-rd-b", num_partitions=1, replication_factor=1,
                                   config={"cleanup.policy": "compact"}),
                          NewTopic("fz-rd-gone", num_partitions=1, replication_factor=1)]))
admin.list_topics(timeout=10)
wait(admin.create_partitions([NewPartitions("fz-rd-a", 3)]))
wait(admin.describe_configs([ConfigResource("topic", "fz-rd-a")]))
wait(admin.alter_configs([ConfigResource("topic", "fz-rd-b", set_config={"retention.ms": "3600000"})]))

for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    p = Producer({**common, "compression.type": codec, "linger.ms": 5, "acks": "all"})
    for i in range(4):
        p.produce("fz-rd-a", key=None if i == 1 else f"k{i}".encode(), value=f"{codec}-{i}".encode(),
                  partition=i % 3, headers=[("h", b"v")] if i == 2 else None)
    p.flush(20)

p = Producer({**common, "enable.idempotence": True, "compression.type": "lz4", "linger.ms": 5})
for i in range(6):
    p.produce("fz-rd-b", key=f"k{i % 2}".encode(), value=f"idem-{i}".encode())
p.flush(20)

p = Producer({**common, "acks": 1})
p.produce("fz-rd-auto", value=b"auto-created")
p.flush(20)

c0 = Consumer({**common, "group.id": "fz-rd-txn-group"})
t = Producer({**common, "transactional.id": "fz-rd-txn", "linger.ms": 5})
t.init_transactions(20)
t.begin_transaction()
t.produce("fz-rd-a", value=b"in-txn", partition=0)
t.flush(20)
t.commit_transaction(20)
t.begin_transaction()
t.produce("fz-rd-a", value=b"with-offsets", partition=2)
t.send_offsets_to_transaction([TopicPartition("fz-rd-a", 0, 1)], c0.consumer_group_metadata(), 20)
t.commit_transaction(20)
t.begin_transaction()
t.produce("fz-rd-a", value=b"aborted", partition=1)
t.flush(20)
t.abort_transaction(20)
c0.close()

c = Consumer({**common, "group.id": "fz-rd-group", "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "enable.auto.commit": False,
              "fetch.wait.max.ms": 100})
c.subscribe(["fz-rd-a", "fz-rd-b"])
got = 0
deadline = time.time() + 30
while got < 10 and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        got += 1
c.commit(asynchronous=False)
c.committed([TopicPartition("fz-rd-a", 0)], timeout=10)
c.get_watermark_offsets(TopicPartition("fz-rd-a", 0), timeout=10)
c.offsets_for_times([TopicPartition("fz-rd-a", 0, int(time.time() * 1000) - 60000)], timeout=10)
c.close()

a = Consumer({**common, "group.id": "fz-rd-assign", "isolation.level": "read_committed"})
a.assign([TopicPartition("fz-rd-a", 1, OFFSET_BEGINNING)])
deadline = time.time() + 5
while time.time() < deadline:
    if a.poll(0.2) is None:
        break
a.close()

admin.list_groups(timeout=10)
admin.list_groups("fz-rd-group", timeout=10)
wait(admin.delete_topics(["fz-rd-gone"]))
