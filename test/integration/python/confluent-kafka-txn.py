"""confluent-kafka (librdkafka) transactions against a Samsa broker: a transactional producer
commits, aborts and commits again; read_committed and read_uncommitted consumers read the topic
back by assignment; a second producer with the same transactional.id fences the first.

Usage: confluent-kafka-txn.py BOOTSTRAP TOPIC
Prints one JSON object on stdout; diagnostics go to stderr.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
common = {"bootstrap.servers": bootstrap, "broker.address.family": "v4"}

admin = AdminClient(common)
for f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
    f.result(timeout=20)


def producer(txn_id):
    p = Producer({**common, "transactional.id": txn_id, "transaction.timeout.ms": 30000, "linger.ms": 5})
    p.init_transactions(20)
    return p


def produce_batch(p, prefix, n):
    for i in range(n):
        p.produce(topic, value=f"{prefix}{i}".encode(), partition=i % 2)
    p.flush(20)


p = producer("ck-txn-1")
p.begin_transaction()
produce_batch(p, "c1-", 6)
p.commit_transaction(20)
p.begin_transaction()
produce_batch(p, "ab-", 6)
p.abort_transaction(20)
p.begin_transaction()
produce_batch(p, "c2-", 6)
p.commit_transaction(20)

# zombie fencing: the first incarnation's commit fails once a second one initialises
p.begin_transaction()
produce_batch(p, "zombie-", 2)
successor = producer("ck-txn-1")
fenced = None
try:
    p.commit_transaction(20)
except KafkaException as e:
    err = e.args[0]
    fenced = {"name": err.name(), "fatal": err.fatal()}
successor.begin_transaction()
produce_batch(successor, "s-", 2)
successor.commit_transaction(20)


def read_all(isolation):
    c = Consumer({**common, "group.id": f"ck-reader-{isolation}", "isolation.level": isolation,
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(2)])
    values, eof = [], set()
    deadline = time.time() + 30
    while len(eof) < 2 and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
                continue
            raise KafkaException(m.error())
        values.append(m.value().decode())
    c.close()
    return sorted(values)


print(json.dumps({
    "committed": read_all("read_committed"),
    "uncommitted": read_all("read_uncommitted"),
    "fenced": fenced,
}))
