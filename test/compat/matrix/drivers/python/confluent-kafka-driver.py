"""confluent-kafka (librdkafka) driver for the client compatibility matrix: performs one
operation against a Samsa broker and reports what the client saw. Keys, values and header values
travel as hex.

Usage: confluent-kafka-driver.py BOOTSTRAP OP < spec.json
OP is probe, metadata, create-topic, produce, consume or group. The last line on stdout is
{"ok": true, "result": ...} or {"ok": false, "error": "..."}; diagnostics go to stderr.
"""
import json
import sys
import time
import traceback


def unhex(h):
    return None if h is None else bytes.fromhex(h)


def tohex(b):
    return None if b is None else bytes(b).hex()


def common(bootstrap):
    return {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "client.id": "samsa-matrix"}


def seen(m):
    return {
        "partition": m.partition(),
        "offset": m.offset(),
        "timestamp": m.timestamp()[1],
        "key": tohex(m.key()),
        "value": tohex(m.value()),
        "headers": [[k, tohex(v)] for k, v in (m.headers() or [])],
    }


def poll_until(consumer, count, timeout_s):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            raise RuntimeError("consume error: %s" % m.error())
        got.append(seen(m))
    if len(got) < count:
        raise RuntimeError("%d of %d records within %ss (offsets %s)" % (len(got), count, timeout_s, [r["offset"] for r in got]))
    return got


def probe(_bootstrap, _spec):
    import confluent_kafka

    return {"version": "%s (librdkafka %s)" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0])}


def metadata(bootstrap, spec):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(common(bootstrap))
    md = admin.list_topics(timeout=10)
    return {
        "brokers": [{"nodeId": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()],
        "topics": [
            {"name": name, "partitions": [{"partition": p.id, "leader": p.leader} for p in t.partitions.values()]}
            for name, t in md.topics.items()
            if name in spec["topics"] and t.error is None
        ],
    }


def create_topic(bootstrap, spec):
    from confluent_kafka.admin import AdminClient, NewTopic

    # the client must outlive its futures: a collected AdminClient fails them with _DESTROY
    admin = AdminClient(common(bootstrap))
    futures = admin.create_topics([NewTopic(spec["topic"], num_partitions=spec["partitions"], replication_factor=1)])
    for f in futures.values():
        f.result(timeout=15)
    return None


def produce(bootstrap, spec):
    from confluent_kafka import Producer

    producer = Producer({**common(bootstrap), "acks": "all", "compression.type": spec["codec"], "linger.ms": 20})
    reports = [None] * len(spec["records"])

    def report(i):
        def on_delivery(err, msg):
            reports[i] = ("error", str(err)) if err is not None else ("ok", msg.offset())

        return on_delivery

    for i, r in enumerate(spec["records"]):
        producer.produce(
            spec["topic"],
            key=unhex(r["key"]),
            value=unhex(r["value"]),
            headers=[(k, unhex(v)) for k, v in r["headers"]],
            partition=spec["partition"],
            on_delivery=report(i),
        )
    left = producer.flush(15)
    if left:
        raise RuntimeError("%d records not delivered within 15 s" % left)
    errors = [r[1] for r in reports if r is None or r[0] == "error"]
    if errors:
        raise RuntimeError("delivery errors: %s" % errors)
    return [r[1] for r in reports]


def consume(bootstrap, spec):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**common(bootstrap), "group.id": "samsa-matrix-reader", "enable.auto.commit": False})
    try:
        start = spec["from"]
        if "beginning" in start:
            offset = OFFSET_BEGINNING
        elif "offset" in start:
            offset = start["offset"]
        else:
            found = consumer.offsets_for_times([TopicPartition(spec["topic"], spec["partition"], start["timestamp"])], timeout=10)[0]
            if found.error is not None or found.offset < 0:
                raise RuntimeError("offsets_for_times: %s" % (found.error or found.offset))
            offset = found.offset
        consumer.assign([TopicPartition(spec["topic"], spec["partition"], offset)])
        return poll_until(consumer, spec["count"], spec["timeoutS"])
    finally:
        consumer.close()


def group(bootstrap, spec):
    from confluent_kafka import Consumer

    consumer = Consumer({
        **common(bootstrap),
        "group.id": spec["groupId"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    try:
        consumer.subscribe([spec["topic"]])
        got = poll_until(consumer, spec["count"], spec["timeoutS"])
        consumer.commit(asynchronous=False)
        return got
    finally:
        consumer.close()


OPS = {"probe": probe, "metadata": metadata, "create-topic": create_topic, "produce": produce, "consume": consume, "group": group}

if __name__ == "__main__":
    bootstrap, op = sys.argv[1], sys.argv[2]
    spec = json.loads(sys.stdin.read() or "{}")
    try:
        print(json.dumps({"ok": True, "result": OPS[op](bootstrap, spec)}))
    except Exception as e:  # reported to the matrix as the cell's error
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
