// The clients of the matrix, in the README's column order.
import type { ClientDriver } from '../client-ops.js'
import { confluentJavascriptDriver } from './confluent-javascript.js'
import { kafkajsDriver } from './kafkajs.js'
import { kcatDriver } from './kcat.js'
import { platformaticDriver } from './platformatic.js'
import { confluentKafkaDriver, kafkaPythonDriver } from './python.js'

export const DRIVERS: ClientDriver[] = [kafkajsDriver, platformaticDriver, kcatDriver, kafkaPythonDriver, confluentKafkaDriver, confluentJavascriptDriver]
