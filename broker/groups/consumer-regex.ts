// SubscribedTopicRegex (KIP-848). Kafka compiles it with RE2/J and subscribes the member to every
// topic whose whole name matches. Here it is a JavaScript RegExp with the 'u' flag, matched against
// the whole name, which agrees with RE2 for the usual patterns (literals, classes, alternation,
// repetition, anchors). Where the two differ:
// - RE2 has no lookaround or backreferences; those are refused here too (INVALID_REGULAR_EXPRESSION).
// - A leading (?i), (?s) or (?m) becomes the RegExp flag; RE2's flags anywhere else, \Q..\E, \z,
//   \A, \C, [[:alpha:]] classes and \pN without braces are not understood and are refused.
// - RE2 guarantees linear-time matching; RegExp backtracks, so a pathological pattern costs more.
//   Topic names are at most 249 characters, which bounds the damage.
const INLINE_FLAGS = /^\(\?([ism]+)\)/
/** Constructs RE2 rejects, which a RegExp would accept. */
const NOT_RE2 = /\(\?[=!]|\(\?<[=!]|\\[1-9]|\\k</

const cache = new Map<string, RegExp | null>()

/** The compiled pattern, or null when it is not a valid regular expression. */
export function compileTopicRegex(pattern: string): RegExp | null {
  let re = cache.get(pattern)
  if (re !== undefined) return re
  re = compile(pattern)
  if (cache.size >= 1000) cache.clear()
  cache.set(pattern, re)
  return re
}

function compile(pattern: string): RegExp | null {
  if (NOT_RE2.test(pattern)) return null
  let flags = 'u'
  let body = pattern
  const inline = INLINE_FLAGS.exec(pattern)
  if (inline !== null) {
    flags += [...new Set(inline[1])].join('')
    body = pattern.slice(inline[0].length)
  }
  try {
    return new RegExp(`^(?:${body})$`, flags)
  } catch {
    return null
  }
}

// Kafka resolves a group's regular expressions off the heartbeat path (GroupMetadataManager's
// refreshRegularExpressions runs on an executor, and its result bumps the group epoch in a later
// write): the heartbeat that brings a new regex is answered with what the literal names give, and
// the regex's topics arrive in a heartbeat after the resolution. Resolutions are batched: the
// group's regexes are resolved again at most every REGEX_REFRESH_INTERVAL_MS, so a topic created
// later joins the assignment within that time. A regex no member subscribes to any more is
// forgotten, so subscribing to it again resolves it afresh.

/** Kafka's REGEX_BATCH_REFRESH_INTERVAL_MS. */
export const REGEX_REFRESH_INTERVAL_MS = 10_000

/** The group's regular expressions as last resolved. */
export class ResolvedRegexes {
  /** regex -> the names of the topics it matched. */
  readonly topics = new Map<string, ReadonlySet<string>>()
  refreshedAt = Number.NEGATIVE_INFINITY
  /** A resolution is to run at the coordinator's next tick. */
  due = false

  /**
   * Forgets regexes nobody subscribes to; true when a resolution should be scheduled: a regex is
   * not resolved yet, or the last resolution is older than the refresh interval.
   */
  needsRefresh(subscribed: ReadonlySet<string>, now: number): boolean {
    this.forgetUnsubscribed(subscribed)
    if (subscribed.size === 0 || this.due) return false
    for (const regex of subscribed) if (!this.topics.has(regex)) return true
    return now >= this.refreshedAt + REGEX_REFRESH_INTERVAL_MS
  }

  forgetUnsubscribed(subscribed: ReadonlySet<string>): void {
    for (const regex of this.topics.keys()) if (!subscribed.has(regex)) this.topics.delete(regex)
  }

  /** Matches every subscribed regex against the topic names; true when any result changed. */
  resolve(subscribed: ReadonlySet<string>, topicNames: Iterable<string>, now: number): boolean {
    const matched = new Map<string, Set<string>>()
    for (const regex of subscribed) matched.set(regex, new Set())
    for (const name of topicNames) {
      for (const [regex, names] of matched) if (compileTopicRegex(regex)?.test(name) === true) names.add(name)
    }
    let changed = false
    for (const regex of [...this.topics.keys()]) if (!matched.has(regex)) this.topics.delete(regex)
    for (const [regex, names] of matched) {
      const before = this.topics.get(regex)
      if (before === undefined || before.size !== names.size || [...names].some((n) => !before.has(n))) changed = true
      this.topics.set(regex, names)
    }
    this.refreshedAt = now
    this.due = false
    return changed
  }
}
