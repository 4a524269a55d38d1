// librdkafka's tests/java/TransactionProducerCli.java (0098) carried out with kafkajs: the same
// command language, the same producers, keys, values and transactional ids, from a client that is
// not librdkafka. Arguments: BOOTSTRAP then commands, each a comma-separated list:
//   topic,NAME   testid,ID   sleep,MS   exit,CODE
//   producerN, PARTITION (-1: by key), ID_START, COUNT, TRANSACTION_TYPE, DoFlush|DontFlush
// TRANSACTION_TYPE: None (an idempotent, non-transactional producer), BeginCommit, BeginAbort,
// BeginOpen (begin and leave open), ContinueCommit, ContinueAbort, ContinueOpen (keep using the
// transaction left open). Each record's key is one byte, ID_START + i; its value 10 20 30 40 (hex).
// exit,CODE leaves at once, as System.exit does: an open transaction stays open, with no marker.
import { Kafka, logLevel } from 'kafkajs'

const [bootstrap, ...commands] = process.argv.slice(2)
if (bootstrap === undefined) {
  console.error('usage: transaction-producer-cli.mjs BOOTSTRAP COMMAND...')
  process.exit(2)
}
const kafka = new Kafka({ clientId: 'transaction-producer-cli', brokers: bootstrap.split(','), logLevel: logLevel.WARN })
const TYPES = ['None', 'BeginAbort', 'BeginCommit', 'BeginOpen', 'ContinueAbort', 'ContinueCommit', 'ContinueOpen']
const VALUE = Buffer.from([0x10, 0x20, 0x30, 0x40])

/** name -> { producer, txn (the transaction in progress, if any) } */
const producers = new Map()
let topic
let testid

async function producerFor(name, transactional) {
  let p = producers.get(name)
  if (p === undefined) {
    const producer = transactional
      ? kafka.producer({ transactionalId: `test-transactional-id-${testid}-${name}`, idempotent: true, maxInFlightRequests: 1 })
      : kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    p = { producer, txn: undefined }
    producers.set(name, p)
  }
  return p
}

async function produce(name, partition, idStart, count, type) {
  if (!TYPES.includes(type)) throw new Error(`unknown transaction type ${type}`)
  const p = await producerFor(name, type !== 'None')
  if (type.startsWith('Begin')) p.txn = await p.producer.transaction()
  if (type.startsWith('Continue') && p.txn === undefined) throw new Error(`${name}: ${type} without an open transaction`)
  const messages = Array.from({ length: count }, (_, i) => ({
    key: Buffer.from([(idStart + i) & 0xff]),
    value: VALUE,
    ...(partition === -1 ? {} : { partition }),
  }))
  // Every send is awaited, so records reach the log in the order of the commands; DoFlush and
  // DontFlush differ only in when Java's producer sends, not in what a transaction holds.
  await (type === 'None' ? p.producer : p.txn).send({ topic, messages })
  if (type.endsWith('Commit')) await p.txn.commit()
  if (type.endsWith('Abort')) await p.txn.abort()
  if (type.endsWith('Commit') || type.endsWith('Abort')) p.txn = undefined
}

for (const command of commands) {
  const cmd = command.split(/\s*,\s*/)
  console.log(`transaction-producer-cli: command: '${command}'`)
  if (cmd[0] === 'sleep') await new Promise((r) => setTimeout(r, Number(cmd[1])))
  else if (cmd[0] === 'exit') process.exit(Number(cmd[1]))
  else if (cmd[0] === 'topic') topic = cmd[1]
  else if (cmd[0] === 'testid') testid = cmd[1]
  else if (cmd[0].startsWith('producer')) await produce(cmd[0], Number(cmd[1]), Number(cmd[2]), Number(cmd[3]), cmd[4])
  else throw new Error(`unknown command: ${command}`)
}
for (const { producer } of producers.values()) await producer.disconnect()
