// The --cluster address and the etcd namespace.
import { describe, expect, it } from 'vitest'
import { namespaceOf, parseClusterUrl } from '../../../broker/cluster/keys.js'

describe('parseClusterUrl', () => {
  it('reads endpoints and prefix', () => {
    expect(parseClusterUrl('etcd://127.0.0.1:2379/samsa')).toEqual({ endpoints: ['http://127.0.0.1:2379'], prefix: '/samsa' })
    expect(parseClusterUrl('etcd://a:2379,b:2380/prod/kafka/')).toEqual({ endpoints: ['http://a:2379', 'http://b:2380'], prefix: '/prod/kafka' })
    expect(parseClusterUrl('etcds://[::1]:2379')).toEqual({ endpoints: ['https://[::1]:2379'], prefix: '/samsa' })
  })

  it('refuses what is not an etcd address', () => {
    expect(() => parseClusterUrl('http://a:2379/samsa')).toThrow(/etcd:\/\//)
    expect(() => parseClusterUrl('etcd://a/samsa')).toThrow(/host:port/)
  })

  it('namespaces with one trailing slash', () => {
    expect(namespaceOf('/samsa')).toBe('/samsa/')
    expect(namespaceOf('/samsa//')).toBe('/samsa/')
  })
})
