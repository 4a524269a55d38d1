# A librdkafka (confluent-kafka) consumer with client.rack, for the fetch-from-follower test,
# speaking JSON lines on stdout.
#
#   python3 rack-consumer.py BOOTSTRAP TOPIC PARTITION RACK COUNT
#     Assigns PARTITION from offset 0 (no group) and reads COUNT records, printing
#     {"o": offset, "v": value} per record, {"error": name} per error the application sees, and
#     {"done": records read} last; gives up after 60 s without COUNT records.
import json
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    bootstrap, topic, partition, rack, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "broker.address.family": "v4",
        "group.id": "rack-consumer",
        "client.rack": rack,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
        "socket.timeout.ms": 5000,
    })
    c.assign([TopicPartition(topic, partition, 0)])
    deadline = time.monotonic() + 60
    read = 0
    while read < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            # Transport errors while a broker is down are the client's to retry, not the application's.
            if m.error().code() not in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
                emit({"error": m.error().name()})
            continue
        emit({"o": m.offset(), "v": m.value().decode()})
        read += 1
    emit({"done": read})
    c.close()


main()
