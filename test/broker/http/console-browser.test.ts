// The web console in a real browser: headless Chromium (the system's, driven by playwright-core,
// which downloads nothing) opens the console of an in-process broker after kafkajs produced and
// consumed, and finds the topic, its partitions, its records (text, JSON and hex) and the
// consumer group with its lag.
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { waitFor } from '../../helpers/wait.js'

const CHROMIUM = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium'
const TOPIC = 'console-orders'
/** Screenshots of each step, kept as test artifacts (gitignored). */
const SHOTS = path.resolve('.cache/console-screenshots')

let dir: string
let broker: RunningBroker
let browser: Browser
let page: Page

describe.skipIf(!existsSync(CHROMIUM))(`web console (needs Chromium at ${CHROMIUM})`, () => {
  beforeAll(async () => {
    dir = await makeTempDir('samsa-console-')
    broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', http: { port: 0, allowActions: true }, config: { 'group.initial.rebalance.delay.ms': '0' } })
    const kafka = kafkaClient(broker.address)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: TOPIC,
      messages: [
        { partition: 0, key: 'order-1', value: JSON.stringify({ item: 'lamp', qty: 2 }), headers: { source: 'web' } },
        { partition: 0, key: 'order-2', value: 'plain words' },
        { partition: 0, key: null, value: Buffer.from([0xff, 0x00, 0xfe]) },
      ],
    })
    const consumer = kafka.consumer({ groupId: 'console-group' })
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    let seen = 0
    await consumer.run({ eachMessage: async () => void seen++ })
    await waitFor(() => seen === 3, { what: 'records consumed' })
    await consumer.stop()
    await consumer.disconnect()
    // One more record after the commit: the group lags by one.
    await producer.send({ topic: TOPIC, messages: [{ partition: 0, key: 'order-3', value: 'late' }] })
    await producer.disconnect()
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    mkdirSync(SHOTS, { recursive: true })
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await broker?.stop()
    await removeDir(dir)
  })

  it('lists the topic and the group on the cluster page', async () => {
    await page.goto(`${broker.http!.url}/`)
    const topicRow = page.locator('tr', { has: page.locator(`a[href="#/topic/${TOPIC}"]`) })
    await topicRow.waitFor()
    // Name, 2 partitions, 4 records.
    expect((await topicRow.locator('td').allTextContents()).slice(0, 4)).toEqual([TOPIC, '2', '4', expect.stringMatching(/ B$/)])
    const groupRow = page.locator('tr', { has: page.locator('a[href="#/group/console-group"]') })
    expect((await groupRow.locator('td').allTextContents()).slice(0, 1)).toEqual(['console-group'])
    expect((await groupRow.locator('td').allTextContents())[4]).toBe('1')
  })

  it('shows partitions and records of the topic, as text, JSON and hex', async () => {
    await page.goto(`${broker.http!.url}/#/topic/${TOPIC}`)
    await page.locator('#messages table tbody tr').first().waitFor()
    const rows = await page.locator('#messages table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([
      ['0', 'order-1', '{"item":"lamp","qty":2}'],
      ['1', 'order-2', 'plain words'],
      ['2', 'null', 'ff 00 fe'],
      ['3', 'order-3', 'late'],
    ])
    expect(rows[0]![4]).toBe('source: web')
    const partitions = await page.locator('table').nth(0).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)))
    expect(partitions).toEqual([
      ['0', '0', '4'],
      ['1', '0', '0'],
    ])
    // From offset 1, at most 2, values as hex.
    await page.selectOption('select[name=from]', 'offset')
    await page.fill('input[name=at]', '1')
    await page.fill('input[name=limit]', '2')
    await page.selectOption('select[name=format]', 'hex')
    await page.click('#browse button[type=submit]')
    await page.locator('#messages p', { hasText: 'showing 2 from 1' }).waitFor()
    const hex = await page.locator('#messages table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll('td')[3]!.textContent))
    expect(hex).toEqual([Buffer.from('plain words').toString('hex').replace(/(..)(?!$)/g, '$1 '), 'ff 00 fe'])
    // JSON pretty-prints.
    await page.selectOption('select[name=from]', 'start')
    await page.selectOption('select[name=format]', 'json')
    await page.click('#browse button[type=submit]')
    await page.locator('#messages p', { hasText: 'showing 2 from 0' }).waitFor()
    expect(await page.locator('#messages table tbody tr').first().locator('td').nth(3).textContent()).toBe(JSON.stringify({ item: 'lamp', qty: 2 }, null, 2))
    const configs = await page.locator('table').last().locator('td').allTextContents()
    expect(configs).toContain('cleanup.policy')
  })

  it('creates and deletes a topic when actions are allowed', async () => {
    await page.goto(`${broker.http!.url}/#/topics`)
    await page.fill('input[name=name]', 'made-in-console')
    await page.fill('input[name=partitions]', '3')
    await page.click('#create-topic button[type=submit]')
    await page.locator('a[href="#/topic/made-in-console"]').waitFor()
    const kafka = kafkaClient(broker.address)
    const admin = kafka.admin()
    await admin.connect()
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['made-in-console'] })
      expect(meta.topics[0]!.partitions).toHaveLength(3)
      await page.click('a[href="#/topic/made-in-console"]')
      page.once('dialog', (d) => void d.accept())
      await page.click('button:has-text("Delete topic")')
      await page.waitForURL(/#\/topics$/)
      await waitFor(async () => !(await admin.listTopics()).includes('made-in-console'), { what: 'the topic deleted' })
    } finally {
      await admin.disconnect()
    }
  })

  it('shows the group with its committed offsets and lag', async () => {
    await page.goto(`${broker.http!.url}/#/group/console-group`)
    const offsets = page.locator('table').nth(1).locator('tbody tr')
    await offsets.first().waitFor()
    const rows = await offsets.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    expect(rows).toContainEqual([TOPIC, '0', '3', '4', '1'])
  })

  it('creates a topic, produces from the page, browses by offset, timestamp and key, and edits a config', async () => {
    const topic = 'console-made'
    await page.goto(`${broker.http!.url}/#/topics`)
    await page.getByLabel('New topic').fill(topic)
    await page.getByLabel('Partitions').fill('1')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.locator(`a[href="#/topic/${topic}"]`).click()
    await page.locator('#produce').waitFor()
    const before = Date.now()
    for (const [i, [key, value]] of [['alpha', 'first'], ['beta', '{"n":2}'], ['alphabet', 'third']].entries()) {
      await page.fill('input[name=produce-key]', key!)
      await page.fill('textarea[name=produce-value]', value!)
      await page.fill('input[name=produce-headers]', 'origin=console')
      await page.getByRole('button', { name: 'Produce' }).click()
      await page.locator('#status', { hasText: `Produced to ${topic} partition 0 at offset ${i}` }).waitFor()
    }
    const rows = () => page.locator('#messages table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    // By offset: from 1.
    await page.selectOption('#browse select[name=from]', 'offset')
    await page.fill('#browse input[name=at]', '1')
    await page.click('#browse button[type=submit]')
    await page.locator('#messages p', { hasText: 'showing 2 from 1' }).waitFor()
    expect((await rows()).map((r) => [r[0], r[2], r[3], r[4]])).toEqual([
      ['1', 'beta', '{"n":2}', 'origin: console'],
      ['2', 'alphabet', 'third', 'origin: console'],
    ])
    // By timestamp: the time before the first record finds all three.
    await page.selectOption('#browse select[name=from]', 'timestamp')
    await page.fill('#browse input[name=at]', new Date(before - 1000).toISOString())
    await page.click('#browse button[type=submit]')
    await page.locator('#messages p', { hasText: 'showing 3 from 0' }).waitFor()
    // By key: "alpha" matches two of three.
    await page.selectOption('#browse select[name=from]', 'start')
    await page.fill('#browse input[name=key]', 'alpha')
    await page.click('#browse button[type=submit]')
    await page.locator('#messages p', { hasText: 'showing 2 from 0, 3 scanned' }).waitFor()
    expect((await rows()).map((r) => r[2])).toEqual(['alpha', 'alphabet'])
    await page.screenshot({ path: path.join(SHOTS, 'topic.png'), fullPage: false })
    // kafkajs reads what the page produced.
    const kafka = kafkaClient(broker.address)
    const admin = kafka.admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      expect(offsets.map((o) => o.high)).toEqual(['3'])
      // Edit a config on the page; kafkajs describeConfigs sees it.
      await page.getByLabel('Value of retention.ms').fill('3600000')
      await page.getByRole('button', { name: 'Save retention.ms' }).click()
      await page.locator('#status', { hasText: `Set retention.ms on ${topic}` }).waitFor()
      const describe = async () => {
        const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] })
        return r.resources[0]!.configEntries[0]!
      }
      expect(await describe()).toMatchObject({ configName: 'retention.ms', configValue: '3600000', isDefault: false })
      await page.getByRole('button', { name: 'Reset retention.ms to its default' }).click()
      await page.locator('#status', { hasText: `Reset retention.ms on ${topic}` }).waitFor()
      expect((await describe()).configValue).toBe('604800000')
      // A bad value is refused with the broker's message, and nothing changes.
      await page.getByLabel('Value of retention.ms').fill('soon')
      await page.getByRole('button', { name: 'Save retention.ms' }).click()
      await page.locator('#status.error').waitFor()
      expect((await describe()).configValue).toBe('604800000')
    } finally {
      await admin.disconnect()
    }
  })

  it("shows a kafkajs group's lag going to zero as it catches up", async () => {
    const kafka = kafkaClient(broker.address)
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: TOPIC, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 1, value: `backlog-${i}` })) })
    await producer.disconnect()
    await page.goto(`${broker.http!.url}/#/group/console-group`)
    // 1 left on partition 0 earlier, 20 now on partition 1 (the group has nothing committed there yet: from the start).
    await page.locator('#group-lag').waitFor()
    const consumer = kafka.consumer({ groupId: 'console-group' })
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    await consumer.run({ eachMessage: async () => {} })
    try {
      await page.locator('#group-lag', { hasText: /^0$/ }).waitFor({ timeout: 20_000 })
      const offsets = await page.locator('table').nth(1).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
      expect(offsets).toEqual([
        [TOPIC, '0', '4', '4', '0'],
        [TOPIC, '1', '20', '20', '0'],
      ])
      await page.goto(`${broker.http!.url}/#/`)
      await page.locator('#cluster-body svg.spark').first().waitFor()
      // Two refreshes so the charts have a line.
      await page.locator('#cluster-body polyline').first().waitFor({ timeout: 10_000 })
      await page.screenshot({ path: path.join(SHOTS, 'cluster.png'), fullPage: false })
    } finally {
      await consumer.disconnect()
    }
  }, 30_000)
})
