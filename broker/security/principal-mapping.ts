// ssl.principal.mapping.rules as Kafka's SslPrincipalMapper reads them: a comma-separated list of
// `RULE:pattern/replacement/[LU]` and `DEFAULT`, tried in order on the certificate's subject
// (RFC 2253). The first rule whose pattern matches the whole subject gives the name (L lower-
// cases it, U upper-cases it); DEFAULT gives the subject itself. No matching rule: no principal.

import { configError } from './listeners.js'

/** The name for a subject, or undefined when no rule applies. */
export type PrincipalMapper = (distinguishedName: string) => string | undefined

interface Rule {
  pattern: RegExp | undefined
  replacement: string
  caseChange: '' | 'L' | 'U'
}

// Kafka's RULE_SPLITTER: DEFAULT, or RULE:pattern/replacement/flags with \/ escaping a slash.
const RULE = /\s*(DEFAULT|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?).*?|(.*?))\s*(?:,\s*|$)/gy

export function parsePrincipalMappingRules(text: string): PrincipalMapper {
  const rules: Rule[] = []
  const source = text.trim() === '' ? 'DEFAULT' : text.trim()
  RULE.lastIndex = 0
  while (RULE.lastIndex < source.length) {
    const at = RULE.lastIndex
    const m = RULE.exec(source)
    if (m === null || m[0] === '') throw configError(`ssl.principal.mapping.rules: cannot parse "${source.slice(at)}"`)
    if (m[1] === 'DEFAULT') {
      rules.push({ pattern: undefined, replacement: '', caseChange: '' })
    } else if (m[2] !== undefined) {
      rules.push({ pattern: new RegExp(`^(?:${m[2]})$`), replacement: m[3]!, caseChange: (m[4] ?? '') as Rule['caseChange'] })
    } else {
      throw configError(`ssl.principal.mapping.rules: invalid rule "${m[1]}"`)
    }
  }
  return (dn) => {
    for (const r of rules) {
      if (r.pattern === undefined) return dn
      if (!r.pattern.test(dn)) continue
      const name = dn.replace(r.pattern, r.replacement)
      return r.caseChange === 'L' ? name.toLowerCase() : r.caseChange === 'U' ? name.toUpperCase() : name
    }
    return undefined
  }
}
