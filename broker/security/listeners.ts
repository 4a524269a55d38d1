// Listeners as Kafka names them: `listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093`,
// each listener's security protocol from `listener.security.protocol.map` (a listener named
// after a protocol needs no entry), the address clients are told from `advertised.listeners`,
// and per-listener overrides of any key as `listener.name.<lower-case name>.<key>`.
import os from 'node:os'
import type { BrokerConfig } from '../config.js'

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'
const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']

export interface ListenerEndpoint {
  name: string
  securityProtocol: SecurityProtocol
  host: string
  port: number
}

/** A listener as bound: where it listens, and what clients connecting through it are told. */
export interface BoundListener extends ListenerEndpoint {
  advertisedHost: string
  advertisedPort: number
}

/** An error in the listener or security configuration (code ECONFIG), as opposed to one of I/O. */
export function configError(message: string): Error {
  const e = new Error(message)
  ;(e as NodeJS.ErrnoException).code = 'ECONFIG'
  return e
}

export function usesTls(p: SecurityProtocol): boolean {
  return p === 'SSL' || p === 'SASL_SSL'
}

export function usesSasl(p: SecurityProtocol): boolean {
  return p === 'SASL_PLAINTEXT' || p === 'SASL_SSL'
}

/** `PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL` -> name -> protocol. */
export function parseProtocolMap(text: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>()
  for (const entry of text.split(',')) {
    const e = entry.trim()
    if (e === '') continue
    const colon = e.indexOf(':')
    const name = e.slice(0, colon).trim().toUpperCase()
    const protocol = e.slice(colon + 1).trim().toUpperCase() as SecurityProtocol
    if (colon <= 0 || !PROTOCOLS.includes(protocol)) {
      throw configError(`listener.security.protocol.map: "${e}" is not NAME:PROTOCOL with a protocol of ${PROTOCOLS.join(', ')}`)
    }
    map.set(name, protocol)
  }
  return map
}

/** Parses a listeners value (`NAME://host:port,...`); an empty host means every interface. */
export function parseEndpoints(text: string, protocols: Map<string, SecurityProtocol>, key = 'listeners'): ListenerEndpoint[] {
  const out: ListenerEndpoint[] = []
  for (const item of text.split(',')) {
    const s = item.trim()
    if (s === '') continue
    const m = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(s)
    if (m === null) throw configError(`${key}: "${s}" is not NAME://host:port`)
    const name = m[1]!.toUpperCase()
    const securityProtocol = protocols.get(name) ?? (PROTOCOLS.includes(name as SecurityProtocol) ? (name as SecurityProtocol) : undefined)
    if (securityProtocol === undefined) throw configError(`${key}: listener ${name} has no entry in listener.security.protocol.map`)
    const port = Number(m[3])
    if (port > 65535) throw configError(`${key}: port ${port} of ${name} is out of range`)
    if (out.some((l) => l.name === name)) throw configError(`${key}: listener ${name} is named twice`)
    out.push({ name, securityProtocol, host: m[2]!.replace(/^\[|\]$/g, ''), port })
  }
  return out
}

export interface ListenerOverrides {
  host?: string
  port?: number
  advertisedHost?: string
  advertisedPort?: number
}

/**
 * The broker's listeners from its configuration. `--host`/`--port` (and the embedding API's
 * host/port) stand for the first listener, which is PLAINTEXT when `listeners` is not set.
 */
export function configuredListeners(config: BrokerConfig, first: ListenerOverrides): ListenerEndpoint[] {
  const protocols = parseProtocolMap(config.get('listener.security.protocol.map'))
  const listeners = parseEndpoints(config.get('listeners'), protocols)
  if (listeners.length === 0) throw configError('listeners: no listener configured')
  const head = listeners[0]!
  if (first.host !== undefined) head.host = first.host
  if (first.port !== undefined) head.port = first.port
  const inter = config.get('inter.broker.listener.name')
  if (inter !== '' && !listeners.some((l) => l.name === inter.toUpperCase())) {
    throw configError(`inter.broker.listener.name: ${inter} is not one of the listeners`)
  }
  return listeners
}

/** Binds each listener's advertised address: advertised.listeners, else the bound one. */
export function advertise(config: BrokerConfig, bound: ListenerEndpoint[], first: ListenerOverrides): BoundListener[] {
  const protocols = parseProtocolMap(config.get('listener.security.protocol.map'))
  const advertised = new Map(parseEndpoints(config.get('advertised.listeners'), protocols, 'advertised.listeners').map((l) => [l.name, l]))
  return bound.map((l, i) => {
    const a = advertised.get(l.name)
    let advertisedHost = a?.host || (l.host === '' || l.host === '0.0.0.0' || l.host === '::' ? os.hostname() : l.host)
    let advertisedPort = a !== undefined && a.port !== 0 ? a.port : l.port
    if (i === 0 && first.advertisedHost !== undefined) advertisedHost = first.advertisedHost
    if (i === 0 && first.advertisedPort !== undefined) advertisedPort = first.advertisedPort
    return { ...l, advertisedHost, advertisedPort }
  })
}

/** A key as seen by one listener: `listener.name.<name>.<key>` when set, else the broker-wide key. */
export function listenerConfig(config: BrokerConfig, listenerName: string, key: string): string {
  const prefixed = `listener.name.${listenerName.toLowerCase()}.${key}`
  return config.has(prefixed) ? config.get(prefixed) : config.get(key)
}

/**
 * A SASL key as seen by one mechanism of one listener, as Kafka looks it up:
 * `listener.name.<name>.<mechanism>.<key>`, then `listener.name.<name>.<key>`, then the key.
 */
export function mechanismConfig(config: BrokerConfig, listenerName: string, mechanism: string, key: string): string {
  const prefixed = `listener.name.${listenerName.toLowerCase()}.${mechanism.toLowerCase()}.${key}`
  return config.has(prefixed) ? config.get(prefixed) : listenerConfig(config, listenerName, key)
}
