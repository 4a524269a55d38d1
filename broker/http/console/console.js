// Samsa's web console: a few views over the broker's JSON API (/api/...), routed by the URL hash.
// Everything is built with DOM calls and textContent, so names and record bytes are never parsed
// as HTML.

const main = document.getElementById('main')

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v)
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c))
  return e
}

function table(headers, rows, numeric = []) {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((cell, i) => el('td', numeric.includes(i) ? { class: 'num' } : {}, cell))))),
  )
}

async function api(path, init) {
  const res = await fetch(`api/${path}`, init)
  const body = await res.json().catch(() => ({ error: res.statusText }))
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

const bytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`)
const link = (href, text) => el('a', { href }, text)
const enc = encodeURIComponent

function show(...nodes) {
  main.replaceChildren(...nodes)
}

async function clusterView() {
  const c = await api('cluster')
  document.getElementById('who').textContent = c.principal
  const [topics, groups] = await Promise.all([api('topics'), api('groups')])
  show(
    el('h1', {}, 'Cluster ', el('span', { class: 'muted' }, c.clusterId)),
    el('h2', {}, 'Brokers'),
    table(['Node', 'Host', 'Port', 'Controller'], c.brokers.map((b) => [b.nodeId, b.host, b.port, b.controller ? 'yes' : ''])),
    table(
      ['Topics', 'Partitions', 'Groups', 'Log directory', 'Free', 'Up'],
      [[c.topics, c.partitions, c.groups, c.logDir.dir, bytes(c.logDir.usableBytes), `${Math.round(c.uptimeMs / 1000)} s`]],
    ),
    el('h2', {}, 'Topics'),
    topicsTable(topics),
    el('h2', {}, 'Consumer groups'),
    groupsTable(groups),
  )
}

function topicsTable(topics) {
  return table(
    ['Topic', 'Partitions', 'Records', 'Size'],
    topics.map((t) => [link(`#/topic/${enc(t.name)}`, t.name), t.partitions, t.records, bytes(t.sizeBytes)]),
    [1, 2, 3],
  )
}

function groupsTable(groups) {
  return table(
    ['Group', 'Type', 'State', 'Members', 'Lag'],
    groups.map((g) => [link(`#/group/${enc(g.groupId)}`, g.groupId), g.type, g.state, g.members, g.lag]),
    [3, 4],
  )
}

async function topicsView() {
  const [c, topics] = await Promise.all([api('cluster'), api('topics')])
  const nodes = [el('h1', {}, 'Topics'), topicsTable(topics)]
  if (c.actions) nodes.push(createTopicForm())
  show(...nodes)
}

function createTopicForm() {
  const name = el('input', { name: 'name', required: '' })
  const partitions = el('input', { name: 'partitions', type: 'number', min: '1', value: '1' })
  const status = el('span')
  return el(
    'form',
    {
      onsubmit: async (e) => {
        e.preventDefault()
        try {
          await api('topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: name.value, partitions: Number(partitions.value) }) })
          route()
        } catch (err) {
          status.className = 'error'
          status.textContent = err.message
        }
      },
    },
    el('label', {}, 'New topic', name),
    el('label', {}, 'Partitions', partitions),
    el('button', { type: 'submit' }, 'Create'),
    status,
  )
}

async function topicView(name) {
  const [c, t] = await Promise.all([api('cluster'), api(`topics/${enc(name)}`)])
  const browser = el('div', { id: 'messages' })
  show(
    el('h1', {}, 'Topic ', el('span', { id: 'topic-name' }, t.name)),
    el('p', { class: 'muted' }, `id ${t.topicId} `, c.actions ? deleteTopicButton(t.name) : null),
    el('h2', {}, 'Partitions'),
    table(
      ['Partition', 'Start offset', 'End offset', 'Last stable', 'Size', 'Segments'],
      t.partitionDetails.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.lastStableOffset, bytes(p.sizeBytes), p.segments]),
      [0, 1, 2, 3, 4, 5],
    ),
    el('h2', {}, 'Messages'),
    messageForm(t, browser),
    browser,
    el('h2', {}, 'Configs'),
    table(['Key', 'Value', 'Source'], t.configs.map((c) => [c.name, c.value ?? '(hidden)', c.source])),
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
          location.hash = '#/topics'
        } catch (err) {
          alert(err.message)
        }
      },
    },
    'Delete topic',
  )
}

function messageForm(t, browser) {
  const partition = el('select', { name: 'partition' }, t.partitionDetails.map((p) => el('option', { value: String(p.partition) }, String(p.partition))))
  const from = el('select', { name: 'from' }, ['start', 'offset', 'timestamp', 'end'].map((f) => el('option', { value: f }, f)))
  const at = el('input', { name: 'at', placeholder: 'offset or ISO time / ms' })
  const limit = el('input', { name: 'limit', type: 'number', min: '1', max: '500', value: '50' })
  const format = el('select', { name: 'format' }, ['text', 'json', 'hex'].map((f) => el('option', { value: f }, f)))
  return el(
    'form',
    {
      onsubmit: (e) => {
        e.preventDefault()
        const q = new URLSearchParams({ partition: partition.value, limit: limit.value })
        if (from.value === 'offset') q.set('offset', at.value)
        else if (from.value === 'timestamp') q.set('timestamp', String(/^\d+$/.test(at.value) ? Number(at.value) : Date.parse(at.value)))
        else q.set('from', from.value)
        loadMessages(t.name, q, format.value, browser)
      },
    },
    el('label', {}, 'Partition', partition),
    el('label', {}, 'From', from),
    el('label', {}, 'Offset / time', at),
    el('label', {}, 'Limit', limit),
    el('label', {}, 'Show as', format),
    el('button', { type: 'submit' }, 'Read'),
  )
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
    target.replaceChildren(
      el('p', { class: 'muted' }, `partition ${r.partition}: offsets ${r.logStartOffset}–${r.highWatermark}; showing ${r.messages.length} from ${r.start}`),
      table(
        ['Offset', 'Timestamp', 'Key', 'Value', 'Headers'],
        r.messages.map((m) => [
          m.offset,
          new Date(m.timestamp).toISOString(),
          decode(m.key, format),
          decode(m.value, format),
          m.headers.map((h) => el('div', {}, `${h.key}: `, decode(h.value, format))),
        ]),
        [0],
      ),
    )
  } catch (err) {
    target.replaceChildren(el('p', { class: 'error' }, err.message))
  }
}

async function groupsView() {
  show(el('h1', {}, 'Consumer groups'), groupsTable(await api('groups')))
}

async function groupView(id) {
  const g = await api(`groups/${enc(id)}`)
  show(
    el('h1', {}, 'Group ', g.groupId),
    el('p', {}, `${g.type} group, ${g.state}`),
    el('h2', {}, 'Members'),
    table(
      ['Member', 'Client id', 'Host', 'Assignment'],
      g.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.assignment.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ')]),
    ),
    el('h2', {}, 'Offsets'),
    table(
      ['Topic', 'Partition', 'Committed', 'End', 'Lag'],
      g.offsets.map((o) => [link(`#/topic/${enc(o.topic)}`, o.topic), o.partition, o.committedOffset, o.endOffset, o.lag]),
      [1, 2, 3, 4],
    ),
  )
}

async function route() {
  const [, view, arg] = location.hash.split('/')
  try {
    if (view === 'topic' && arg !== undefined) await topicView(decodeURIComponent(arg))
    else if (view === 'topics') await topicsView()
    else if (view === 'groups') await groupsView()
    else if (view === 'group' && arg !== undefined) await groupView(decodeURIComponent(arg))
    else await clusterView()
  } catch (err) {
    show(el('p', { class: 'error' }, err.message))
  }
}

window.addEventListener('hashchange', route)
route()
