// Share sessions (KIP-932): opening, epoch checks, the cache limit, closing, and the round-robin
// order in which a session's partitions are fetched.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { ShareSessionCache, type ShareSession } from '../../../broker/share/share-sessions.js'

describe('ShareSessionCache', () => {
  it('opens at epoch 0, expects 1, 2, ... and -1 closes', () => {
    const cache = new ShareSessionCache(() => 10)
    expect(cache.check('g', 'm', 1)).toBe(ErrorCode.SHARE_SESSION_NOT_FOUND)
    const s = cache.open('g', 'm') as ShareSession
    expect(cache.check('g', 'm', 2)).toBe(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    expect(cache.check('g', 'm', 1)).toBe(s)
    s.epoch++
    expect(cache.check('g', 'm', 1)).toBe(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    expect(cache.check('g', 'm', -1)).toBe(s)
    cache.close(s)
    expect(cache.check('g', 'm', -1)).toBe(ErrorCode.SHARE_SESSION_NOT_FOUND)
  })

  it('refuses a new session past group.share.max.share.sessions, but a member may reopen its own', () => {
    const cache = new ShareSessionCache(() => 1)
    expect(typeof cache.open('g', 'a')).toBe('object')
    expect(cache.open('g', 'b')).toBe(ErrorCode.SHARE_SESSION_LIMIT_REACHED)
    expect(typeof cache.open('g', 'a')).toBe('object')
    cache.removeMember('g', 'a')
    expect(typeof cache.open('g', 'b')).toBe('object')
  })

  it('starts each fetch one partition further', () => {
    const s = new ShareSessionCache(() => 1).open('g', 'm') as ShareSession
    for (const p of [0, 1, 2]) s.add('t', p)
    s.add('t', 1)
    const order = () => s.nextFetchOrder().map((p) => p.partition)
    expect(order()).toEqual([0, 1, 2])
    expect(order()).toEqual([1, 2, 0])
    expect(order()).toEqual([2, 0, 1])
    s.forget('t', 1)
    expect(order()).toEqual([2, 0]) // the fourth fetch starts at index 3 % 2
  })
})
