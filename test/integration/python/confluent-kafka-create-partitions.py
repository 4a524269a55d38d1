"""confluent-kafka (librdkafka) admin client: grow a topic's partition count with create_partitions.

Usage: confluent-kafka-create-partitions.py BOOTSTRAP TOPIC COUNT
Prints one JSON object on stdout: {"error": null} or {"error": "<Kafka error name>", "message": ...}.
"""
import json
import sys

from confluent_kafka.admin import AdminClient, NewPartitions

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
out = {"error": None}
for _, f in admin.create_partitions([NewPartitions(topic, count)], request_timeout=60).items():
    try:
        f.result(timeout=90)
    except Exception as e:  # the test asserts on the error name
        err = e.args[0] if e.args else None
        out = {"error": err.name() if hasattr(err, "name") else str(e), "message": err.str() if hasattr(err, "str") else str(e)}
print(json.dumps(out))
