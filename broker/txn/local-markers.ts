// Markers into this broker's own logs (single-broker mode): cluster mode sends them to each
// partition's leader instead (cluster-markers.ts).
import type { Logger } from 'pino'
import type { MarkerTarget, MarkerWriter } from './txn-model.js'

/** Markers into this broker's own logs; a failed write is logged and the transaction completes. */
export function localMarkers(logs: MarkerTarget, logger: Logger): MarkerWriter {
  return {
    async write(tp, marker) {
      const log = logs.partition(tp.topic, tp.partition)
      if (log === undefined) return // the topic was deleted; nothing left to mark
      try {
        await log.appendTxnMarker(marker)
      } catch (err) {
        logger.error({ err, topic: tp.topic, partition: tp.partition }, 'writing a transaction marker failed')
      }
    },
  }
}
