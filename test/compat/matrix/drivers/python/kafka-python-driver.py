"""kafka-python driver for the client compatibility matrix: performs one operation against a
Samsa broker and reports what the client saw. Keys, values and header values travel as hex.

Usage: kafka-python-driver.py BOOTSTRAP OP < spec.json
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


def seen(r):
    return {
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "key": tohex(r.key),
        "value": tohex(r.value),
        "headers": [[k, tohex(v)] for k, v in (r.headers or [])],
    }


def poll_until(consumer, count, timeout_s):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            got.extend(seen(r) for r in records)
    if len(got) < count:
        raise RuntimeError("%d of %d records within %ss (offsets %s)" % (len(got), count, timeout_s, [r["offset"] for r in got]))
    return got


def probe(_bootstrap, _spec):
    import kafka
    from kafka import codec

    return {
        "version": kafka.__version__,
        "codecs": {"gzip": codec.has_gzip(), "snappy": codec.has_snappy(), "lz4": codec.has_lz4(), "zstd": codec.has_zstd()},
    }


def metadata(bootstrap, spec):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="samsa-matrix")
    try:
        cluster = admin.describe_cluster()
        topics = admin.describe_topics(spec["topics"])
    finally:
        admin.close()
    return {
        "brokers": [{"nodeId": b["node_id"], "host": b["host"], "port": b["port"]} for b in cluster["brokers"]],
        "topics": [
            {"name": t["topic"], "partitions": [{"partition": p["partition"], "leader": p["leader"]} for p in t["partitions"]]}
            for t in topics
            if t["error_code"] == 0
        ],
    }


def create_topic(bootstrap, spec):
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="samsa-matrix")
    try:
        response = admin.create_topics([NewTopic(spec["topic"], num_partitions=spec["partitions"], replication_factor=1)])
    finally:
        admin.close()
    errors = [t for t in response.topic_errors if t[1] != 0]
    if errors:
        raise RuntimeError("create_topics errors: %s" % (errors,))
    return None


def produce(bootstrap, spec):
    from kafka import KafkaProducer

    codec = None if spec["codec"] == "none" else spec["codec"]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec, linger_ms=20)
    try:
        futures = [
            producer.send(
                spec["topic"],
                key=unhex(r["key"]),
                value=unhex(r["value"]),
                headers=[(k, unhex(v)) for k, v in r["headers"]],
                partition=spec["partition"],
            )
            for r in spec["records"]
        ]
        producer.flush(timeout=15)
        return [f.get(timeout=15).offset for f in futures]
    finally:
        producer.close(timeout=5)


def consume(bootstrap, spec):
    from kafka import KafkaConsumer, TopicPartition

    tp = TopicPartition(spec["topic"], spec["partition"])
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        consumer.assign([tp])
        start = spec["from"]
        if "beginning" in start:
            consumer.seek_to_beginning(tp)
        elif "offset" in start:
            consumer.seek(tp, start["offset"])
        else:
            found = consumer.offsets_for_times({tp: start["timestamp"]})[tp]
            if found is None:
                raise RuntimeError("offsets_for_times found no offset at or after %d" % start["timestamp"])
            consumer.seek(tp, found.offset)
        return poll_until(consumer, spec["count"], spec["timeoutS"])
    finally:
        consumer.close(autocommit=False)


def group(bootstrap, spec):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        spec["topic"],
        bootstrap_servers=bootstrap,
        group_id=spec["groupId"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        got = poll_until(consumer, spec["count"], spec["timeoutS"])
        consumer.commit()
        return got
    finally:
        consumer.close(autocommit=False)


OPS = {"probe": probe, "metadata": metadata, "create-topic": create_topic, "produce": produce, "consume": consume, "group": group}

if __name__ == "__main__":
    bootstrap, op = sys.argv[1], sys.argv[2]
    spec = json.loads(sys.stdin.read() or "{}")
    try:
        print(json.dumps({"ok": True, "result": OPS[op](bootstrap, spec)}))
    except Exception as e:  # reported to the matrix as the cell's error
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
