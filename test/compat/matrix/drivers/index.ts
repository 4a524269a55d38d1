// The clients of the matrix, in the README's column order.
import type { ClientDriver } from '../client-ops.js'
import { kafkajsDriver } from './kafkajs.js'

export const DRIVERS: ClientDriver[] = [kafkajsDriver]
