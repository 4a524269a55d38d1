"""confluent-kafka (librdkafka) against a Samsa broker: create a topic with the admin client,
produce keyed records with headers using acks=all and each compression codec, then read every
partition back from the beginning by assignment (no group coordination needed).

Usage: confluent-kafka-roundtrip.py BOOTSTRAP TOPIC
Prints one JSON object on stdout; diagnostics go to stderr.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
PARTITIONS = 3
PER_CODEC = 15
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
common = {"bootstrap.servers": bootstrap, "broker.address.family": "v4"}

admin = AdminClient(common)
results = {}
for new_topic, f in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).items():
    try:
        f.result(timeout=20)
        results[new_topic] = None
    except Exception as e:  # the test asserts on the error code
        results[new_topic] = e.args[0].name() if e.args and hasattr(e.args[0], "name") else str(e)
bad = {}
for new_topic, f in admin.create_topics([NewTopic("bad-rf-" + topic, num_partitions=1, replication_factor=3)]).items():
    try:
        f.result(timeout=20)
        bad[new_topic] = None
    except Exception as e:
        bad[new_topic] = e.args[0].name() if e.args and hasattr(e.args[0], "name") else str(e)
metadata = admin.list_topics(timeout=10)
listed = topic in metadata.topics
listed_partitions = len(metadata.topics[topic].partitions) if listed else 0

produced = []
delivery_errors = []
for codec in CODECS:
    producer = Producer({**common, "acks": "all", "compression.type": codec, "linger.ms": 5, "enable.idempotence": False})

    # delivery reports do not carry headers back, so the callback is told what was sent
    def on_delivery(err, msg, codec=codec, headers=None):
        if err is not None:
            delivery_errors.append(f"{codec}: {err}")
            return
        produced.append({
            "codec": codec,
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": msg.key().decode(),
            "value": msg.value().decode(),
            "headers": [[k, v.decode()] for k, v in headers],
        })

    for i in range(PER_CODEC):
        headers = [("codec", codec.encode()), ("i", str(i).encode())]
        producer.produce(
            topic,
            key=f"{codec}-k{i}",
            value=f"{codec}-v{i}-" + "abc" * 30,
            headers=headers,
            partition=i % PARTITIONS,
            on_delivery=lambda err, msg, h=headers, cb=on_delivery: cb(err, msg, headers=h),
        )
    left = producer.flush(20)
    if left:
        delivery_errors.append(f"{codec}: {left} messages not delivered")

consumer = Consumer({
    **common,
    "group.id": "samsa-confluent-roundtrip",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
consumed = []
eof = set()
deadline = time.time() + 30
while len(eof) < PARTITIONS and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            eof.add(msg.partition())
            continue
        delivery_errors.append(f"consume: {msg.error()}")
        continue
    eof.discard(msg.partition())
    consumed.append({
        "partition": msg.partition(),
        "offset": msg.offset(),
        "key": msg.key().decode() if msg.key() is not None else None,
        "value": msg.value().decode() if msg.value() is not None else None,
        "headers": [[k, v.decode()] for k, v in (msg.headers() or [])],
    })
consumer.close()

print(json.dumps({
    "created": results,
    "badReplication": bad,
    "topicListed": listed,
    "listedPartitions": listed_partitions,
    "produced": produced,
    "consumed": consumed,
    "errors": delivery_errors,
}))
