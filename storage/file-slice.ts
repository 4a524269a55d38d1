// FileSlice: record batches that stay in their segment file, for Fetch responses sent with
// sendfile(2) (see native/sendfile.c). It stands in for the bytes in a response: a Uint8Array whose
// `length` is the range's length but which holds no bytes itself, so the protocol writer, which
// passes large byte fields through as chunks of their own without reading them, hands it on to the
// connection untouched. Nothing may read its bytes: the connection sends it with sendfile, or
// readAll() copies it out where sendfile cannot be used.
//
// A slice pins its file's descriptor (FileHandle) until release(), so a segment deleted or closed
// while the slice is being sent keeps its descriptor, and its data, until the send is done.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Descriptor } from './file-handle.js'

/** Slices smaller than this are read into memory: a sendfile call costs more than copying them. */
export const FILE_SLICE_MIN_BYTES = 64 * 1024

export class FileSlice extends Uint8Array {
  /** Bytes of the range already handed to the socket. */
  sent = 0
  private pin: Descriptor | undefined

  constructor(
    pin: Descriptor,
    /** Byte position of the range in the file. */
    readonly position: number,
    /** Bytes in the range. */
    readonly size: number,
    /** The offset after the last batch in the range. */
    readonly nextOffset: number,
    private readonly unpin: (pin: Descriptor) => void,
  ) {
    super(0)
    this.pin = pin
  }

  override get length(): number {
    return this.size
  }

  override get byteLength(): number {
    return this.size
  }

  /** The pinned descriptor; -1 once released. */
  get fd(): number {
    return this.pin?.fd ?? -1
  }

  /** Copies up to `max` bytes from `sent` on into a new buffer (and counts them as sent). */
  readNext(max: number): Buffer {
    const want = Math.min(max, this.size - this.sent)
    const buf = Buffer.allocUnsafe(want)
    let got = 0
    while (got < want) {
      const n = fs.readSync(this.fd, buf, got, want - got, this.position + this.sent + got)
      if (n === 0) throw new Error(`segment file ended ${want - got} bytes before the end of a fetched range`)
      got += n
    }
    this.sent += want
    return buf
  }

  /** Unpins the descriptor; the slice can no longer be sent. */
  release(): void {
    const pin = this.pin
    this.pin = undefined
    if (pin !== undefined) this.unpin(pin)
  }
}

export type SendfileFn = (socketFd: number, fileFd: number, position: number, length: number) => number

function loadAddon(): { sendfile?: SendfileFn; why: string } {
  if (process.platform !== 'linux') return { why: `sendfile is used on Linux only (this is ${process.platform})` }
  const here = path.dirname(fileURLToPath(import.meta.url))
  // From the sources (storage/) and from the build (dist/storage/).
  const candidates = [path.join(here, 'native/build/Release/samsa_sendfile.node'), path.join(here, '../../storage/native/build/Release/samsa_sendfile.node')]
  const file = candidates.find((f) => fs.existsSync(f))
  if (file === undefined) return { why: 'the sendfile addon was not built (npm install builds it; see storage/native/build.log)' }
  try {
    const addon = createRequire(import.meta.url)(file) as { sendfile?: unknown }
    if (typeof addon.sendfile !== 'function') return { why: `${file} has no sendfile function` }
    return { sendfile: addon.sendfile as SendfileFn, why: file }
  } catch (err) {
    return { why: `the sendfile addon did not load: ${(err as Error).message}` }
  }
}

let loaded: { sendfile?: SendfileFn; why: string } | undefined

/** The addon's sendfile, or undefined with the reason it is not available. */
export function nativeSendfile(): { sendfile?: SendfileFn; why: string } {
  return (loaded ??= loadAddon())
}
