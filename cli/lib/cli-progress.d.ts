// The subset of cli-progress (which ships no types) that the CLI uses.
declare module 'cli-progress' {
  interface BarOptions {
    format?: string
    stream?: NodeJS.WritableStream
    fps?: number
    hideCursor?: boolean | null
    clearOnComplete?: boolean
    barsize?: number
    etaBuffer?: number
  }
  class SingleBar {
    constructor(options: BarOptions, preset?: object)
    start(total: number, startValue: number, payload?: Record<string, unknown>): void
    update(value: number, payload?: Record<string, unknown>): void
    setTotal(total: number): void
    stop(): void
  }
  const Presets: { shades_classic: object; shades_grey: object; rect: object; legacy: object }
  const _default: { SingleBar: typeof SingleBar; Presets: typeof Presets }
  export default _default
}
