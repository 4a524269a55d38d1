"""confluent-kafka (librdkafka) positioned on given offsets of a compacted topic, one per partition:
once by assignment at those offsets, and once through the consumer group GROUP_PREFIX-committed,
whose committed offsets they are (the test commits them beforehand). Reports the first record each
partition delivers; a reset (auto.offset.reset=earliest) would deliver the partition's first record
instead of the one after the offset.

Usage: confluent-kafka-compacted-position.py BOOTSTRAP TOPIC GROUP_PREFIX OFFSET...  (OFFSET of partition 0, 1, ...)
Prints one JSON object on stdout: {"assigned": [[offset, key] per partition], "committed": [...]}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

bootstrap, topic, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
offsets = [int(o) for o in sys.argv[4:]]
common = {
    "bootstrap.servers": bootstrap,
    "broker.address.family": "v4",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
}


def first_records(consumer):
    """The first record of each partition, [offset, key], or None for one that delivered nothing."""
    first = [None] * len(offsets)
    deadline = time.time() + 30
    while time.time() < deadline and None in first:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise RuntimeError(str(msg.error()))
        if first[msg.partition()] is None:
            first[msg.partition()] = [msg.offset(), msg.key().decode()]
    return first


out = {}
c = Consumer({**common, "group.id": f"{prefix}-assigned"})
c.assign([TopicPartition(topic, p, o) for p, o in enumerate(offsets)])
out["assigned"] = first_records(c)
c.close()

c = Consumer({**common, "group.id": f"{prefix}-committed"})
c.subscribe([topic])
out["committed"] = first_records(c)
c.close()

print(json.dumps(out))
