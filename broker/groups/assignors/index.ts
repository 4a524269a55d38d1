// The server-side assignors a broker can offer through group.consumer.assignors.
import type { ServerAssignor } from './assignor.js'
import { RangeAssignor } from './range.js'
import { UniformAssignor } from './uniform.js'

const KNOWN: Record<string, () => ServerAssignor> = {
  uniform: () => new UniformAssignor(),
  range: () => new RangeAssignor(),
}

/**
 * The assignors named, in order; an unknown name throws, so a misconfigured broker does not start.
 * Kafka's class names (org.apache.kafka.coordinator.group.assignor.UniformAssignor) name them too.
 */
export function serverAssignors(names: readonly string[]): ServerAssignor[] {
  return names.map((name) => {
    const short = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).replace(/Assignor$/, '').toLowerCase() : name
    const make = KNOWN[short]
    if (make === undefined) throw new Error(`group.consumer.assignors: unknown assignor '${name}' (known: ${Object.keys(KNOWN).join(', ')})`)
    return make()
  })
}
