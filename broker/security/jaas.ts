// The options of a JAAS login module line as Kafka's sasl.jaas.config holds them:
// `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";`
// Values are quoted (with backslash escapes) or bare words.

/** The module's options by name, e.g. username and password. */
export function parseJaasOptions(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/g)) out[m[1]!] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!
  return out
}
