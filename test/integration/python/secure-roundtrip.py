"""A produce/consume round trip over a secured listener, with kafka-python or confluent-kafka.

Usage: secure-roundtrip.py CLIENT TOPIC CONFIG_JSON
CLIENT is "kafka-python" or "confluent-kafka"; CONFIG_JSON holds the client's own configuration
(bootstrap servers and security settings, spelled as that client spells them). Produces three
records to partition 0 of TOPIC (auto-created) and reads them back by assignment. Prints one JSON
object on stdout: {"values": [...]} or {"error": "..."}; diagnostics go to stderr.

For confluent-kafka, a config key "oauth_cb.token" (not a librdkafka key) holds a JWT that an
oauth_cb hands to librdkafka for SASL OAUTHBEARER, with the token's own "exp" as its expiry.
"""
import base64
import json
import sys

client, topic, conf = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
values = ["one", "two", "three"]

oauth_token = conf.pop("oauth_cb.token", None)
if oauth_token is not None:
    claims = oauth_token.split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
    conf["oauth_cb"] = lambda _config: (oauth_token, float(exp))

try:
    if client == "confluent-kafka":
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

        errors = []
        p = Producer({**conf, "broker.address.family": "v4", "message.timeout.ms": 15000})
        for v in values:
            p.produce(topic, v.encode(), partition=0, on_delivery=lambda err, msg: err and errors.append(str(err)))
        left = p.flush(20)
        if errors or left:
            raise RuntimeError(f"produce failed: {errors or left}")
        c = Consumer({**conf, "broker.address.family": "v4", "group.id": "secure-rt", "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = []
        for _ in range(60):
            m = c.poll(0.5)
            if m is None:
                if len(got) >= len(values):
                    break
                continue
            if m.error():
                raise RuntimeError(str(m.error()))
            got.append(m.value().decode())
        c.close()
    else:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP

        p = KafkaProducer(**conf)
        for v in values:
            p.send(topic, v.encode(), partition=0).get(timeout=20)
        p.close()
        c = KafkaConsumer(**conf, enable_auto_commit=False, consumer_timeout_ms=15000)
        tp = KTP(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        # Read up to the partition's end offset (all of it, so a duplicate would show), rather than
        # until the consumer has been idle for consumer_timeout_ms.
        end = c.end_offsets([tp])[tp]
        got = []
        if end > 0:
            for m in c:
                got.append(m.value.decode())
                if c.position(tp) >= end:
                    break
        c.close()
    print(json.dumps({"values": got}))
except Exception as e:  # the test asserts on the outcome
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
