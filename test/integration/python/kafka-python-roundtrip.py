"""kafka-python against a Samsa broker: create a topic, produce keyed records with headers
(uncompressed and gzip, the codec kafka-python needs no extra module for), then read every
partition back from the beginning without a consumer group.

Usage: kafka-python-roundtrip.py BOOTSTRAP TOPIC
Prints one JSON object on stdout; diagnostics go to stderr.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

bootstrap, topic = sys.argv[1], sys.argv[2]
PARTITIONS = 2
PER_CODEC = 20

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="samsa-kafka-python")
create_error = None
try:
    admin.create_topics([NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)])
except TopicAlreadyExistsError as e:
    create_error = type(e).__name__
try:
    admin.create_topics([NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)])
    duplicate_error = None
except TopicAlreadyExistsError as e:
    duplicate_error = type(e).__name__
topics = admin.list_topics()
admin.close()

produced = []
for codec in (None, "gzip"):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec, linger_ms=5)
    futures = []
    for i in range(PER_CODEC):
        name = codec or "none"
        key = f"{name}-k{i}".encode()
        value = f"{name}-v{i}".encode() * 3
        headers = [("codec", name.encode()), ("i", str(i).encode())]
        futures.append((key, value, headers, producer.send(topic, key=key, value=value, headers=headers, partition=i % PARTITIONS)))
    producer.flush(timeout=20)
    for key, value, headers, f in futures:
        md = f.get(timeout=20)
        produced.append({
            "partition": md.partition,
            "offset": md.offset,
            "key": key.decode(),
            "value": value.decode(),
            "headers": [[k, v.decode()] for k, v in headers],
        })
    producer.close(timeout=10)

consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=None,
    enable_auto_commit=False,
    auto_offset_reset="earliest",
    consumer_timeout_ms=5000,
)
tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
consumed = []
for msg in consumer:
    consumed.append({
        "partition": msg.partition,
        "offset": msg.offset,
        "key": msg.key.decode() if msg.key is not None else None,
        "value": msg.value.decode() if msg.value is not None else None,
        "headers": [[k, v.decode()] for k, v in msg.headers],
    })
    if len(consumed) >= len(produced):
        break
end_offsets = {str(tp.partition): off for tp, off in consumer.end_offsets(tps).items()}
consumer.close()

print(json.dumps({
    "createError": create_error,
    "duplicateError": duplicate_error,
    "topicListed": topic in topics,
    "produced": produced,
    "consumed": consumed,
    "endOffsets": end_offsets,
}))
