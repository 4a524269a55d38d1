// An in-process broker on 127.0.0.1, port 0, in a fresh data directory, plus kafkajs clients
// pointed at it. Tests stop it in afterAll with `stop()`, which also removes the directory.
import kafkajs from 'kafkajs'
import type { Kafka as KafkaClient, KafkaConfig } from 'kafkajs'
import { startBroker, type BrokerOptions, type RunningBroker } from '../../broker/index.js'
import { makeTempDir, removeDir } from './temp-dir.js'

const { Kafka, logLevel } = kafkajs

export interface TestBroker {
  broker: RunningBroker
  address: string
  dataDir: string
  stop(): Promise<void>
}

/** `options`: further broker options (not the address, directory or logging, which are fixed here). */
export async function startTestBroker(config: Record<string, string> = {}, options: Pick<BrokerOptions, 'poolWriteMinBytes'> = {}): Promise<TestBroker> {
  const dataDir = await makeTempDir('samsa-it-')
  const broker = await startBroker({ ...options, dataDir, host: '127.0.0.1', port: 0, config, logLevel: 'silent' })
  return {
    broker,
    address: broker.address,
    dataDir,
    async stop() {
      await broker.stop()
      await removeDir(dataDir)
    },
  }
}

export function kafkaClient(address: string, extra: Partial<KafkaConfig> = {}): KafkaClient {
  return new Kafka({
    clientId: 'samsa-it',
    brokers: [address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 3000,
    ...extra,
  })
}
