"""Reads every partition of every topic from its beginning to its end with librdkafka
(confluent-kafka), by assignment, read_uncommitted, and reports where each one ended.

Usage: read-to-end.py BOOTSTRAP TIMEOUT_SECONDS
Prints one JSON object: {"partitions": [{"topic", "partition", "eof", "count", "last", "errors"}]}
where eof is the offset librdkafka reported end-of-partition at (null if it never did), count the
records delivered and last the offset of the last one. Diagnostics go to stderr.
"""
import json
import logging
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

bootstrap, timeout = sys.argv[1], float(sys.argv[2])
logs = []


class Collect(logging.Handler):
    def emit(self, record):
        logs.append(record.getMessage())


logger = logging.getLogger("rdkafka")
logger.addHandler(Collect())
logger.setLevel(logging.DEBUG)

c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": "samsa-fuzz-read-to-end",
              "enable.partition.eof": True, "enable.auto.commit": False, "isolation.level": "read_uncommitted",
              "fetch.wait.max.ms": 100, "check.crcs": True}, logger=logger)
topics = c.list_topics(timeout=20).topics
state = {}
assignment = []
for name, t in sorted(topics.items()):
    # Internal topics (__consumer_offsets, ...) hold the broker's own coordinator records and change
    # under this reader's and the others' offset commits: left out, as read-to-end.ts leaves them.
    if name.startswith("__"):
        continue
    if t.error is not None:
        print(f"topic {name}: {t.error}", file=sys.stderr)
    for p in sorted(t.partitions):
        state[(name, p)] = {"topic": name, "partition": p, "eof": None, "count": 0, "last": None, "errors": []}
        assignment.append(TopicPartition(name, p, OFFSET_BEGINNING))
c.assign(assignment)
deadline = time.time() + timeout
done = 0
while done < len(state) and time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        continue
    key = (m.topic(), m.partition())
    s = state.get(key)
    if s is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            if s["eof"] is None:
                done += 1
            s["eof"] = m.offset()
        else:
            s["errors"].append(str(m.error()))
        continue
    s["count"] += 1
    s["last"] = m.offset()
c.close()
print(json.dumps({"partitions": list(state.values()), "logs": logs[-20:]}))
