"""One long-lived confluent-kafka (librdkafka) consumer group member, steered over stdin and
reporting what it observes as JSON lines on stdout, so a test can run several members and
restart, fence or kill -9 them.

Usage: confluent-kafka-group-member.py BOOTSTRAP TOPIC GROUP [key=value librdkafka settings...]

Commands on stdin, one per line:
  commit   synchronous commit of the consumed positions; prints {"ev": "committed", ...}
  close    Consumer.close() (a dynamic member leaves the group, a static one does not), then exit
  meta     prints {"ev": "meta", "gen": G, "memberId": "...", "partitions": [...]}
  exit     exit at once without closing

Events on stdout:
  {"ev": "ready"}                                      subscribed
  {"ev": "assign", "partitions": [...], "gen": G, "memberId": "..."}   partitions added
  {"ev": "revoke", "partitions": [...], "gen": G, "memberId": "..."}   partitions removed
  {"ev": "lost", "partitions": [...], "gen": G, "memberId": "..."}
  {"ev": "msg", "p": P, "o": O, "v": "..."}
  {"ev": "committed", "offsets": {"P": O}}
  {"ev": "error", "code": "NAME", "fatal": bool, "reason": "..."}   a fatal error comes as _FATAL
  {"ev": "closed"}
"""
import json
import os
import queue
import sys
import threading

from confluent_kafka import Consumer, KafkaError, KafkaException

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
extra = dict(arg.split("=", 1) for arg in sys.argv[4:])
out_lock = threading.Lock()


def emit(**event):
    with out_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


reported_fatal = set()


def report(err):
    # A fatal error is repeated on every later poll; once is enough.
    if err.fatal():
        if err.name() in reported_fatal:
            return
        reported_fatal.add(err.name())
    emit(ev="error", code=err.name(), fatal=err.fatal(), reason=err.str())


def on_error(err):
    report(err)


conf = {
    "bootstrap.servers": bootstrap,
    "broker.address.family": "v4",
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "topic.metadata.refresh.interval.ms": 1000,
    "error_cb": on_error,
    **extra,
}
consumer = Consumer(conf)


def partitions_of(tps):
    return sorted(tp.partition for tp in tps)


def membership():
    """Generation and member id as librdkafka holds them, read from its serialized group metadata:
    "CGMDv2:", the int32 generation in host byte order, then NUL-terminated group id and member id."""
    raw = consumer.consumer_group_metadata()
    body = raw[len(b"CGMDv2:"):]
    generation = int.from_bytes(body[:4], sys.byteorder, signed=True)
    fields = body[4:].split(b"\x00")
    return {"gen": generation, "memberId": fields[1].decode() if len(fields) > 1 else ""}


# With no assign call in the callback the client applies the change itself, eagerly or
# incrementally as the assignment strategy requires.
consumer.subscribe(
    [topic],
    on_assign=lambda c, tps: emit(ev="assign", partitions=partitions_of(tps), **membership()),
    on_revoke=lambda c, tps: emit(ev="revoke", partitions=partitions_of(tps), **membership()),
    on_lost=lambda c, tps: emit(ev="lost", partitions=partitions_of(tps), **membership()),
)
emit(ev="ready")

commands = queue.Queue()


def read_commands():
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("exit")


threading.Thread(target=read_commands, daemon=True).start()

while True:
    try:
        command = commands.get_nowait()
    except queue.Empty:
        command = None
    if command == "exit":
        os._exit(0)
    if command == "close":
        consumer.close()
        emit(ev="closed")
        os._exit(0)
    if command == "meta":
        emit(ev="meta", partitions=partitions_of(consumer.assignment()), **membership())
    if command == "commit":
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            report(e.args[0])
        committed = consumer.committed(consumer.assignment(), timeout=10)
        emit(ev="committed", offsets={str(tp.partition): tp.offset for tp in committed})
    try:
        msg = consumer.poll(0.1)
    except KafkaException as e:
        report(e.args[0])
        continue
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() != KafkaError._PARTITION_EOF:
            report(msg.error())
        continue
    emit(ev="msg", p=msg.partition(), o=msg.offset(), v=msg.value().decode() if msg.value() is not None else None)
