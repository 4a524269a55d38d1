// Samsa's web console: a few views over the JSON API (/api/...), routed by the URL hash. The same
// front end serves a broker's own endpoint and `samsa console` in front of any Kafka cluster.
// Everything is built with DOM calls and textContent, so names and record bytes are never parsed
// as HTML. Views that show rates or lag refresh every two seconds while open.
import { formatRate, GaugeSeries, RateSeries, sparkline } from './charts.js'

const main = document.getElementById('main')
const status = document.getElementById('status')
const REFRESH_MS = 2000
let timer
let generation = 0
let cluster

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') e.className = v
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c))
  return e
}

function table(caption, headers, rows, numeric = []) {
  return el(
    'table',
    {},
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((cell, i) => el('td', numeric.includes(i) ? { class: 'num' } : {}, cell))))),
  )
}

async function api(path, init) {
  const res = await fetch(`api/${path}`, init)
  const body = await res.json().catch(() => ({ error: res.statusText }))
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const bytes = (n) => (n === null || n === undefined ? '–' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`)
const replicaList = (ids, offline = []) => ids.map((id) => (offline.includes(id) ? `${id} (down)` : String(id))).join(', ')
const link = (href, text) => el('a', { href }, text)
const enc = encodeURIComponent

function announce(text, error = false) {
  status.className = error ? 'error' : ''
  status.textContent = text
}

/** Replaces `target`'s children with `nodes`, nested lists flattened and nulls left out. */
function fill(target, ...nodes) {
  target.replaceChildren(...nodes.flat(2).filter((n) => n !== null && n !== undefined))
}

/**
 * Shows a view's content, unless another view was routed to since it started: a slow answer for
 * the page just left must not replace the page just opened.
 */
function show(mine, ...nodes) {
  if (mine !== generation) return
  fill(main, ...nodes)
  main.focus({ preventScroll: true })
}

function notes(list) {
  return list.length === 0 ? null : el('ul', { class: 'notes' }, list.map((n) => el('li', {}, n)))
}

/** Refreshes `fn` every REFRESH_MS while the current view is open. */
function live(mine, fn) {
  if (mine !== generation) return
  clearInterval(timer)
  timer = setInterval(() => fn().catch((err) => announce(err.message, true)), REFRESH_MS)
}

// ---- rates: the growth of each topic's end offsets, and each group's lag -------------------

const topicRates = new Map()
const groupLags = new Map()
const totalIn = new RateSeries()
const totalLag = new GaugeSeries()

function sampleTopics(topics) {
  const at = Date.now()
  let sum = 0
  for (const t of topics) {
    if (!topicRates.has(t.name)) topicRates.set(t.name, new RateSeries())
    topicRates.get(t.name).add(t.endOffsets, at)
    if (!t.internal) sum += t.endOffsets
  }
  totalIn.add(sum, at)
}

function sampleGroups(groups) {
  let sum = 0
  for (const g of groups) {
    if (!groupLags.has(g.groupId)) groupLags.set(g.groupId, new GaugeSeries())
    groupLags.get(g.groupId).add(g.lag)
    sum += g.lag
  }
  totalLag.add(sum)
}

const lastOf = (s) => (s === undefined || s.rates.length === 0 ? null : s.rates[s.rates.length - 1])

// ---- cluster --------------------------------------------------------------------------------

async function clusterView() {
  const mine = generation
  const body = el('div', { id: 'cluster-body' })
  const refresh = async () => {
    const [c, topics, groups] = await Promise.all([api('cluster'), api('topics'), api('groups')])
    cluster = c
    // A broker of a cluster reports replication health; a single broker or the admin API does not.
    const replicated = c.underReplicatedPartitions !== undefined
    sampleTopics(topics)
    sampleGroups(groups)
    fill(
      body,
      el('div', { class: 'charts' },
        el('figure', {}, sparkline(totalIn.rates, `Records in per second, all topics: ${formatRate(lastOf(totalIn))}`), el('figcaption', {}, `Records in/s: ${formatRate(lastOf(totalIn))}`)),
        el('figure', {}, sparkline(totalLag.rates, `Total consumer lag: ${lastOf(totalLag) ?? 0}`), el('figcaption', {}, `Total lag: ${lastOf(totalLag) ?? 0}`)),
      ),
      el('h2', {}, 'Brokers'),
      replicated
        ? table('Brokers', ['Node', 'Host', 'Port', 'Rack', 'Controller'], c.brokers.map((b) => [b.nodeId, b.host, b.port, b.rack ?? '–', b.controller ? 'yes' : '']), [0, 2])
        : table('Brokers', ['Node', 'Host', 'Port', 'Controller'], c.brokers.map((b) => [b.nodeId, b.host, b.port, b.controller ? 'yes' : '']), [0, 2]),
      table(
        'Cluster summary',
        ['Topics', 'Partitions', ...(replicated ? ['Under-replicated', 'Offline'] : []), 'Groups', 'Log directory', 'Free', 'Up'],
        [[c.topics, c.partitions, ...(replicated ? [c.underReplicatedPartitions, c.offlinePartitions] : []), c.groups, c.logDir?.dir ?? '–', bytes(c.logDir?.usableBytes), c.uptimeMs === null ? '–' : `${Math.round(c.uptimeMs / 1000)} s`]],
      ),
      notes(c.notes),
      el('h2', {}, 'Topics'),
      topicsTable(topics.filter((t) => !t.internal)),
      el('h2', {}, 'Groups'),
      groupsTable(groups),
    )
  }
  await refresh()
  show(mine, el('h1', {}, 'Cluster ', el('span', { class: 'muted' }, cluster.clusterId ?? '')), body)
  document.getElementById('who').textContent = cluster.principal
  live(mine, refresh)
}

function topicsTable(topics) {
  return table(
    'Topics',
    ['Topic', 'Partitions', 'Records', 'Size', 'In/s', 'Rate'],
    topics.map((t) => {
      const s = topicRates.get(t.name)
      return [link(`#/topic/${enc(t.name)}`, t.name), t.partitions, t.records, bytes(t.sizeBytes), formatRate(lastOf(s)), sparkline(s?.rates ?? [], `${t.name} records in per second`, { width: 100, height: 20 })]
    }),
    [1, 2, 3, 4],
  )
}

function groupsTable(groups) {
  return table(
    'Groups',
    ['Group', 'Type', 'State', 'Members', 'Lag', 'Trend'],
    groups.map((g) => [link(`#/group/${enc(g.groupId)}`, g.groupId), g.type, g.state, g.members, g.lag, sparkline(groupLags.get(g.groupId)?.rates ?? [], `${g.groupId} lag`, { width: 100, height: 20 })]),
    [3, 4],
  )
}

// ---- topics ---------------------------------------------------------------------------------

async function topicsView() {
  const mine = generation
  const [c, first] = await Promise.all([api('cluster'), api('topics')])
  sampleTopics(first)
  const body = el('div', {}, topicsTable(first))
  show(mine, el('h1', {}, 'Topics'), body, c.actions ? createTopicForm() : null)
  live(mine, async () => {
    const topics = await api('topics')
    sampleTopics(topics)
    body.replaceChildren(topicsTable(topics))
  })
}

function field(label, input) {
  return el('label', {}, label, input)
}

function createTopicForm() {
  const name = el('input', { name: 'name', required: true, autocomplete: 'off' })
  const partitions = el('input', { name: 'partitions', type: 'number', min: '1', value: '1' })
  return el(
    'form',
    {
      id: 'create-topic',
      onsubmit: async (e) => {
        e.preventDefault()
        try {
          await post('topics', { name: name.value, partitions: Number(partitions.value) })
          announce(`Created topic ${name.value}`)
          route()
        } catch (err) {
          announce(err.message, true)
        }
      },
    },
    field('New topic', name),
    field('Partitions', partitions),
    el('button', { type: 'submit' }, 'Create'),
  )
}

async function topicView(name) {
  const mine = generation
  const [c, t] = await Promise.all([api('cluster'), api(`topics/${enc(name)}`)])
  const browser = el('div', { id: 'messages', 'aria-live': 'polite' })
  const replicas = t.partitionDetails.some((p) => p.replicas !== undefined)
  show(
    mine,
    el('h1', {}, 'Topic ', el('span', { id: 'topic-name' }, t.name)),
    el('p', { class: 'muted' }, `id ${t.topicId} `, c.actions ? deleteTopicButton(t.name) : null),
    el('h2', {}, 'Partitions'),
    table(
      'Partitions',
      ['Partition', 'Start offset', 'End offset', 'Last stable', 'Size', 'Segments', 'Leader', ...(replicas ? ['Replicas', 'In sync'] : [])],
      t.partitionDetails.map((p) => [
        p.partition, p.logStartOffset, p.highWatermark, p.lastStableOffset, bytes(p.sizeBytes), p.segments ?? '–', p.leader ?? '–',
        ...(replicas ? [replicaList(p.replicas, p.offlineReplicas), p.isr.join(', ')] : []),
      ]),
      [0, 1, 2, 3, 4, 5, 6],
    ),
    notes(t.notes),
    el('h2', {}, 'Messages'),
    messageForm(t, browser),
    browser,
    c.actions ? [el('h2', {}, 'Produce a test message'), produceForm(t, browser)] : null,
    el('h2', {}, 'Configs'),
    configsTable(t, c.actions),
  )
  await loadMessages(t.name, new URLSearchParams({ partition: '0', from: 'start', limit: '50' }), 'text', browser)
}

function deleteTopicButton(name) {
  return el(
    'button',
    {
      type: 'button',
      onclick: async () => {
        if (!confirm(`Delete topic ${name} and all its records?`)) return
        try {
          await api(`topics/${enc(name)}`, { method: 'DELETE' })
          announce(`Deleted topic ${name}`)
          location.hash = '#/topics'
        } catch (err) {
          announce(err.message, true)
        }
      },
    },
    'Delete topic',
  )
}

function partitionSelect(t, name, withAny) {
  return el('select', { name }, withAny ? el('option', { value: '' }, 'by key') : null, t.partitionDetails.map((p) => el('option', { value: String(p.partition) }, String(p.partition))))
}

function messageForm(t, browser) {
  const partition = partitionSelect(t, 'partition', false)
  const from = el('select', { name: 'from' }, ['start', 'offset', 'timestamp', 'end'].map((f) => el('option', { value: f }, f)))
  const at = el('input', { name: 'at', placeholder: 'offset, ISO time or ms' })
  const key = el('input', { name: 'key', placeholder: 'text in the key' })
  const limit = el('input', { name: 'limit', type: 'number', min: '1', max: '500', value: '50' })
  const format = el('select', { name: 'format' }, ['text', 'json', 'hex'].map((f) => el('option', { value: f }, f)))
  return el(
    'form',
    {
      id: 'browse',
      onsubmit: (e) => {
        e.preventDefault()
        const q = new URLSearchParams({ partition: partition.value, limit: limit.value })
        if (from.value === 'offset') q.set('offset', at.value)
        else if (from.value === 'timestamp') q.set('timestamp', String(/^\d+$/.test(at.value) ? Number(at.value) : Date.parse(at.value)))
        else q.set('from', from.value)
        if (key.value !== '') q.set('key', key.value)
        loadMessages(t.name, q, format.value, browser)
      },
    },
    field('Partition', partition),
    field('From', from),
    field('Offset / time', at),
    field('Key contains', key),
    field('Limit', limit),
    field('Show as', format),
    el('button', { type: 'submit' }, 'Read'),
  )
}

function produceForm(t, browser) {
  const partition = partitionSelect(t, 'produce-partition', true)
  const key = el('input', { name: 'produce-key', autocomplete: 'off' })
  const value = el('textarea', { name: 'produce-value', rows: '2', cols: '40' })
  const header = el('input', { name: 'produce-headers', placeholder: 'name=value, name=value' })
  return el(
    'form',
    {
      id: 'produce',
      onsubmit: async (e) => {
        e.preventDefault()
        const headers = {}
        for (const pair of header.value.split(',').map((s) => s.trim()).filter(Boolean)) {
          const eq = pair.indexOf('=')
          headers[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1)
        }
        try {
          const r = await post(`topics/${enc(t.name)}/messages`, { partition: partition.value === '' ? undefined : Number(partition.value), key: key.value === '' ? null : key.value, value: value.value, headers })
          await loadMessages(t.name, new URLSearchParams({ partition: String(r.partition), offset: String(r.offset), limit: '1' }), 'text', browser)
          announce(`Produced to ${t.name} partition ${r.partition} at offset ${r.offset}`)
        } catch (err) {
          announce(err.message, true)
        }
      },
    },
    field('Partition', partition),
    field('Key', key),
    field('Value', value),
    field('Headers', header),
    el('button', { type: 'submit' }, 'Produce'),
  )
}

function configsTable(t, editable) {
  const rows = t.configs.map((c) => {
    const value = c.value ?? '(hidden)'
    if (!editable || c.readOnly || c.sensitive) return [c.name, value, c.source]
    const input = el('input', { name: `config-${c.name}`, value: c.value ?? '', 'aria-label': `Value of ${c.name}`, size: '24' })
    const save = async (body, what) => {
      try {
        await post(`topics/${enc(t.name)}/configs`, body)
        announce(`${what} ${c.name} on ${t.name}`)
        await topicView(t.name)
      } catch (err) {
        announce(err.message, true)
      }
    }
    return [
      c.name,
      el('span', { class: 'config-edit' }, input,
        el('button', { type: 'button', 'aria-label': `Save ${c.name}`, onclick: () => save({ set: { [c.name]: input.value } }, 'Set') }, 'Save'),
        c.source === 'TOPIC_CONFIG' ? el('button', { type: 'button', 'aria-label': `Reset ${c.name} to its default`, onclick: () => save({ delete: [c.name] }, 'Reset') }, 'Reset') : null),
      c.source,
    ]
  })
  return table('Configs', ['Key', 'Value', 'Source'], rows)
}

function decode(b64, format) {
  if (b64 === null) return el('span', { class: 'muted' }, 'null')
  const raw = atob(b64)
  const data = Uint8Array.from(raw, (c) => c.charCodeAt(0))
  if (format === 'hex') return el('pre', {}, Array.from(data, (x) => x.toString(16).padStart(2, '0')).join(' '))
  let text
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    return el('pre', { class: 'muted' }, Array.from(data, (x) => x.toString(16).padStart(2, '0')).join(' '))
  }
  if (format === 'json') {
    try {
      return el('pre', {}, JSON.stringify(JSON.parse(text), null, 2))
    } catch {
      /* not JSON: shown as text */
    }
  }
  return el('pre', {}, text)
}

async function loadMessages(topic, q, format, target) {
  try {
    const r = await api(`topics/${enc(topic)}/messages?${q}`)
    const more = r.next < r.highWatermark ? ` (read on from ${r.next})` : ''
    target.replaceChildren(
      el('p', { class: 'muted' }, `partition ${r.partition}: offsets ${r.logStartOffset}–${r.highWatermark}; showing ${r.messages.length} from ${r.start}, ${r.scanned} scanned${more}`),
      table(
        'Messages',
        ['Offset', 'Timestamp', 'Key', 'Value', 'Headers'],
        r.messages.map((m) => [m.offset, new Date(m.timestamp).toISOString(), decode(m.key, format), decode(m.value, format), m.headers.map((h) => el('div', {}, `${h.key}: `, decode(h.value, format)))]),
        [0],
      ),
    )
  } catch (err) {
    target.replaceChildren(el('p', { class: 'error' }, err.message))
  }
}

// ---- groups ---------------------------------------------------------------------------------

async function groupsView() {
  const mine = generation
  const first = await api('groups')
  sampleGroups(first)
  const body = el('div', {}, groupsTable(first))
  show(mine, el('h1', {}, 'Groups'), body)
  live(mine, async () => {
    const groups = await api('groups')
    sampleGroups(groups)
    body.replaceChildren(groupsTable(groups))
  })
}

async function groupView(id) {
  const mine = generation
  const body = el('div', { id: 'group-body' })
  const lag = new GaugeSeries()
  const refresh = async () => {
    const g = await api(`groups/${enc(id)}`)
    const total = g.offsets.reduce((n, o) => n + o.lag, 0) + g.sharePartitions.reduce((n, p) => n + p.lag, 0)
    lag.add(total)
    fill(
      body,
      el('p', {}, `${g.type} group, ${g.state}; lag `, el('strong', { id: 'group-lag' }, String(total)), ' ', sparkline(lag.rates, `lag of ${id}: ${total}`)),
      el('h2', {}, 'Members'),
      table('Members', ['Member', 'Client id', 'Host', 'Assignment'], g.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.assignment.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ')])),
      g.type === 'share'
        ? [
            el('h2', {}, 'Share partitions'),
            table(
              'Share partitions',
              ['Topic', 'Partition', 'Start offset', 'End offset', 'Lag', 'Acquired', 'Acknowledged', 'Archived'],
              g.sharePartitions.map((p) => [link(`#/topic/${enc(p.topic)}`, p.topic), p.partition, p.startOffset, p.endOffset, p.lag, p.acquired ?? '–', p.acknowledged ?? '–', p.archived ?? '–']),
              [1, 2, 3, 4, 5, 6, 7],
            ),
          ]
        : [
            el('h2', {}, 'Offsets'),
            table('Committed offsets', ['Topic', 'Partition', 'Committed', 'End', 'Lag'], g.offsets.map((o) => [link(`#/topic/${enc(o.topic)}`, o.topic), o.partition, o.committedOffset, o.endOffset, o.lag]), [1, 2, 3, 4]),
          ],
      notes(g.notes),
    )
  }
  await refresh()
  show(mine, el('h1', {}, 'Group ', id), body)
  live(mine, refresh)
}

// ---- security -------------------------------------------------------------------------------

async function securityView() {
  const mine = generation
  const [acls, users] = await Promise.all([api('acls').catch((err) => ({ error: err.message })), api('users').catch((err) => ({ error: err.message }))])
  show(
    mine,
    el('h1', {}, 'ACLs and users'),
    el('h2', {}, 'ACLs'),
    acls.error !== undefined
      ? el('p', { class: 'error' }, acls.error)
      : acls.acls === null
        ? el('p', { class: 'muted' }, 'No authorizer is configured: every request is allowed.')
        : table('ACLs', ['Principal', 'Host', 'Operation', 'Permission', 'Resource', 'Name', 'Pattern'], acls.acls.map((a) => [a.principal, a.host, a.operation, a.permission, a.resourceType, a.resourceName, a.patternType])),
    el('h2', {}, 'SCRAM users'),
    users.error !== undefined ? el('p', { class: 'error' }, users.error) : table('Users', ['User', 'Mechanisms'], users.map((u) => [u.user, u.mechanisms.map((m) => `${m.mechanism} (${m.iterations})`).join(', ')])),
  )
}

async function route() {
  clearInterval(timer)
  const mine = ++generation
  announce('')
  const [, view, arg] = location.hash.split('/')
  for (const a of document.querySelectorAll('header nav a')) a.removeAttribute('aria-current')
  document.querySelector(`header nav a[href="#/${view ?? ''}"]`)?.setAttribute('aria-current', 'page')
  try {
    if (view === 'topic' && arg !== undefined) await topicView(decodeURIComponent(arg))
    else if (view === 'topics') await topicsView()
    else if (view === 'groups') await groupsView()
    else if (view === 'group' && arg !== undefined) await groupView(decodeURIComponent(arg))
    else if (view === 'security') await securityView()
    else await clusterView()
  } catch (err) {
    show(mine, el('p', { class: 'error' }, err.message))
  }
}

window.addEventListener('hashchange', route)
route()
