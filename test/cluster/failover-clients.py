# A Python client's side of the cluster failover test, speaking JSON lines on stdout.
#
#   python3 failover-clients.py produce CLIENT BOOTSTRAP TOPIC PARTITION LABEL
#     CLIENT is "confluent" (librdkafka: enable.idempotence, acks=all) or "kafka-python" (acks=all,
#     one request in flight). Sends values LABEL-SEQ to PARTITION one at a time, each awaited
#     (the client retries internally), until stdin closes. Prints {"k": value, "o": offset} per
#     acknowledgement and {"f": value, "e": error} per failure the application sees.
#   python3 failover-clients.py consume CLIENT BOOTSTRAP TOPIC PARTITION
#     Assigns PARTITION from offset 0 (no group) and reads up to its end offset, printing
#     {"o": offset, "v": value} per record and {"end": end offset} last.
import json
import select
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def stdin_closed():
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and sys.stdin.readline() == ""


def produce_confluent(bootstrap, topic, partition, label):
    from confluent_kafka import Producer

    p = Producer({
        "bootstrap.servers": bootstrap,
        "broker.address.family": "v4",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 0,
        "message.timeout.ms": 30000,
        "socket.timeout.ms": 5000,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    seq = 0
    while not stdin_closed():
        value = f"{label}-{seq}"
        seq += 1
        result = {}

        def on_delivery(err, msg, value=value, result=result):
            result["r"] = {"f": value, "e": err.name()} if err is not None else {"k": value, "o": msg.offset()}

        p.produce(topic, value=value.encode(), partition=partition, on_delivery=on_delivery)
        while "r" not in result:
            p.poll(0.1)
        emit(result["r"])
        time.sleep(0.02)
    p.flush(30)


def produce_kafka_python(bootstrap, topic, partition, label):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0, retries=100, retry_backoff_ms=200,
                      max_in_flight_requests_per_connection=1, request_timeout_ms=10000, metadata_max_age_ms=1000)
    seq = 0
    while not stdin_closed():
        value = f"{label}-{seq}"
        seq += 1
        try:
            md = p.send(topic, value=value.encode(), partition=partition).get(timeout=60)
            emit({"k": value, "o": md.offset})
        except Exception as e:  # what the application sees once the client's retries are spent
            emit({"f": value, "e": type(e).__name__ + ": " + str(e)})
        time.sleep(0.02)
    p.flush(30)
    p.close(10)


def consume_confluent(bootstrap, topic, partition):
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": "failover-clients",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    _, end = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=20)
    c.assign([TopicPartition(topic, partition, 0)])
    deadline = time.monotonic() + 30
    pos = 0
    while pos < end and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().code() != KafkaError._PARTITION_EOF:
                emit({"error": m.error().name()})
            continue
        emit({"o": m.offset(), "v": m.value().decode()})
        pos = m.offset() + 1
    emit({"end": end})
    c.close()


def consume_kafka_python(bootstrap, topic, partition):
    from kafka import KafkaConsumer, TopicPartition

    tp = TopicPartition(topic, partition)
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    c.assign([tp])
    c.seek(tp, 0)
    end = c.end_offsets([tp])[tp]
    deadline = time.monotonic() + 30
    while c.position(tp) < end and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=1000).values():
            for r in records:
                emit({"o": r.offset, "v": r.value.decode()})
    emit({"end": end})
    c.close()


def main():
    mode, client = sys.argv[1], sys.argv[2]
    bootstrap, topic, partition = sys.argv[3], sys.argv[4], int(sys.argv[5])
    if mode == "produce":
        fn = produce_confluent if client == "confluent" else produce_kafka_python
        fn(bootstrap, topic, partition, sys.argv[6])
    else:
        fn = consume_confluent if client == "confluent" else consume_kafka_python
        fn(bootstrap, topic, partition)


main()
