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
