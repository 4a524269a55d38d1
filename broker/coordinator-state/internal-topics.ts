// The topics coordinators keep their state in. Clients see them in Metadata marked internal and
// cannot produce to them (Kafka answers INVALID_TOPIC_EXCEPTION, "Cannot append to internal topic").
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state'])

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name)
}
