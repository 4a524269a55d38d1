"""kafka-python consumer group against a Samsa broker: a member subscribes, reads every record
of an existing topic, commits, and reports the committed offsets; a second member of the same
group then starts from those offsets and sees only what was produced after the commit.

Usage: kafka-python-group.py BOOTSTRAP TOPIC GROUP
Prints one JSON object on stdout; diagnostics go to stderr.
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]


def drain(expected, timeout_s=30):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    got = []
    deadline = time.time() + timeout_s
    while len(got) < expected and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend([r.partition, r.offset, r.value.decode()] for r in records)
    consumer.commit()
    partitions = sorted(consumer.assignment(), key=lambda tp: tp.partition)
    committed = {str(tp.partition): consumer.committed(tp) for tp in partitions}
    consumer.close()
    return got, committed


first, committed = drain(expected=int(sys.argv[4]) if len(sys.argv) > 4 else 6)

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
producer.send(topic, value=b"after-commit", partition=0).get(timeout=20)
producer.close(timeout=10)

second, _ = drain(expected=1)
print(json.dumps({"first": first, "committed": committed, "second": second}))
