// The fixed-rate targets a child process can open from a JSON description, so the producer and the
// consumer processes reach the same topic or streams the harness prepared.
import type { RateTarget, RateTargetSpec } from './fixed-rate.js'
import { redisRateTarget } from './redis.js'
import { samsaRateTarget } from './samsa.js'

export function openRateTarget(spec: RateTargetSpec): Promise<RateTarget> {
  switch (spec.system) {
    case 'samsa':
      return samsaRateTarget(spec, spec.topic, spec.partitions, spec.recordBytes, spec.acks)
    case 'redis':
      return redisRateTarget(spec.port, spec.streams, spec.recordBytes)
  }
}
