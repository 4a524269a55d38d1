# librdkafka's side of the chaos workload (confluent-kafka for Python), speaking JSON lines on stdout.
#
#   python3 librdkafka.py produce BOOTSTRAP TOPIC PARTITIONS RATE LABEL
#     An idempotent producer (enable.idempotence, acks=all) sending unique values LABEL.GEN-SEQ
#     to random partitions at RATE per second until stdin closes, then flushing. Prints
#     {"a": value, "p": partition, "t": ms} before each send, {"k": value, "p": partition, "o": offset}
#     on acknowledgement, {"f": value, "e": error name} on failure and {"bump": producer, "t": ms}
#     when it bumps its epoch. A fatal error (the idempotent
#     producer fenced or out of sequence) starts a new producer with GEN + 1.
#   python3 librdkafka.py txn BOOTSTRAP TOPIC PARTITIONS LABEL
#     A transactional producer (transactional.id LABEL) writing one value to each of 2-3 distinct
#     partitions per transaction, committing three in four and aborting the rest, until stdin
#     closes. Prints {"t": id, "vals": [[partition, value], ...], "intent": "commit"|"abort",
#     "outcome": "committed"|"aborted"|"unknown"} per transaction. A commit that fails leaves the
#     outcome unknown (with an abortable error the transaction is aborted to go on); a fatal error
#     or a failed abort also leaves it unknown and starts a new producer with the same
#     transactional.id.
#   python3 librdkafka.py consume BOOTSTRAP TOPIC PARTITIONS
#     Assigns every partition from offset 0 (no group membership, no commits) and prints
#     {"p": partition, "o": offset, "v": value} per record until stdin closes.
#   python3 librdkafka.py consume-committed BOOTSTRAP TOPIC PARTITIONS
#     The same with isolation.level read_committed.
import json
import logging
import random
import select
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def stdin_closed():
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and sys.stdin.readline() == ""


def produce(bootstrap, topic, partitions, rate, label):
    gen = 0
    seq = 0
    fatal = []

    def on_error(err):
        if err.fatal():
            fatal.append(err)

    class BumpWatch(logging.Handler):
        # librdkafka's log (delivered by poll) goes on to stderr; an epoch bump (KIP-360, after
        # messages timed out) is also reported, as {"bump": producer, "t": ms}: messages sent
        # again under the new epoch restart at sequence 0, so the broker cannot drop them as
        # retries, and librdkafka documents duplicates then (the checker allows them).
        def emit(self, record):
            line = record.getMessage()
            sys.stderr.write(line + "\n")
            if "bumped epoch" in line:
                emit({"bump": "%s.%d" % (label, gen), "t": time.time() * 1000})

    logger = logging.getLogger("librdkafka-" + label)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(BumpWatch())

    def make():
        return Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 20000,
            "request.timeout.ms": 5000,
            "socket.timeout.ms": 5000,
            "topic.metadata.refresh.interval.ms": 2000,
            "error_cb": on_error,
            # Idempotence state changes (producer id, epoch bumps, sequence errors) in the log.
            "debug": "eos",
            "logger": logger,
        })

    def on_delivery(err, msg):
        value = msg.value().decode()
        if err is None:
            emit({"k": value, "p": msg.partition(), "o": msg.offset()})
        else:
            emit({"f": value, "e": err.name()})

    def poll(timeout):
        # A fatal error surfaces as an exception from poll() or flush(): the producer is done for.
        try:
            producer.poll(timeout)
        except KafkaException as e:
            fatal.append(e.args[0])

    producer = make()
    interval = 1.0 / rate
    next_at = time.monotonic()
    while not stdin_closed():
        if fatal:
            emit({"fatal": fatal[0].name(), "gen": gen})
            try:
                producer.flush(20)
            except KafkaException:
                pass
            fatal.clear()
            gen += 1
            seq = 0
            producer = make()
        now = time.monotonic()
        if now < next_at:
            poll(next_at - now)
            continue
        next_at += interval
        if next_at < now - 1:
            next_at = now
        partition = random.randrange(partitions)
        value = "%s.%d-%d" % (label, gen, seq)
        seq += 1
        emit({"a": value, "p": partition, "g": "%s.%d" % (label, gen), "s": seq - 1, "t": time.time() * 1000})
        try:
            producer.produce(topic, value=value.encode(), partition=partition, on_delivery=on_delivery)
        except BufferError:
            emit({"f": value, "e": "BUFFER_FULL"})
        except KafkaException as e:
            emit({"f": value, "e": e.args[0].name()})
            fatal.append(e.args[0])
        poll(0)
        sys.stdout.flush()
    try:
        left = producer.flush(30)
    except KafkaException:
        left = len(producer)
    emit({"done": True, "unflushed": left})
    sys.stdout.flush()


def txn(bootstrap, topic, partitions, label):
    def make():
        p = Producer({
            "bootstrap.servers": bootstrap,
            "transactional.id": label,
            "transaction.timeout.ms": 10000,
            "message.timeout.ms": 10000,
            "request.timeout.ms": 5000,
            "socket.timeout.ms": 5000,
            "topic.metadata.refresh.interval.ms": 2000,
        })
        p.init_transactions(30)
        return p

    gen = 0
    n = 0
    producer = None
    while not stdin_closed():
        if producer is None:
            try:
                producer = make()
            except KafkaException as e:
                emit({"err": "init " + e.args[0].name()})
                sys.stdout.flush()
                time.sleep(0.5)
                continue
        tid = "%s.%d-%d" % (label, gen, n)
        n += 1
        vals = [[p, "%s-%d" % (tid, i)] for i, p in enumerate(random.sample(range(partitions), random.choice([2, 3])))]
        intent = "commit" if random.random() < 0.75 else "abort"
        outcome = "unknown"
        replace = False
        try:
            producer.begin_transaction()
            for p, v in vals:
                producer.produce(topic, value=v.encode(), partition=p)
            if intent == "commit":
                try:
                    producer.commit_transaction(15)
                    outcome = "committed"
                except KafkaException as e:
                    emit({"err": "commit " + e.args[0].name()})
                    if not e.args[0].txn_requires_abort():
                        raise
                    # EndTxn(commit) may have reached the coordinator before the error (a request
                    # that timed out, then a retry refused): abort_transaction then succeeds without
                    # undoing anything, so the outcome stays unknown. Aborting readies the producer.
                    producer.abort_transaction(15)
            else:
                producer.abort_transaction(15)
                outcome = "aborted"
        except KafkaException as e:
            emit({"err": "txn " + e.args[0].name()})
            replace = True
        except BufferError:
            emit({"err": "txn BUFFER_FULL"})
            replace = True
        emit({"t": tid, "vals": vals, "intent": intent, "outcome": outcome})
        sys.stdout.flush()
        if replace:
            producer = None
            gen += 1
            n = 0


def consume(bootstrap, topic, partitions, isolation="read_uncommitted"):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "chaos-reader",
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "topic.metadata.refresh.interval.ms": 2000,
        "session.timeout.ms": 6000,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    while not stdin_closed():
        for msg in consumer.consume(500, 0.5):
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    emit({"err": msg.error().name()})
                continue
            emit({"p": msg.partition(), "o": msg.offset(), "v": msg.value().decode()})
        sys.stdout.flush()
    consumer.close()


def main():
    mode = sys.argv[1]
    if mode == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif mode == "txn":
        txn(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif mode == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "consume-committed":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), "read_committed")
    else:
        sys.exit("unknown mode " + mode)


main()
