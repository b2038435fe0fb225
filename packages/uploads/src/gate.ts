import type fs from 'node:fs'
import type { BodyControl } from '@mummy/io-loop'

/**
 * Whether a sink holds its connection's reading back. Every sink here writes a body to a file
 * as it arrives; while the file's unsent bytes are over its high-water mark, reading pauses,
 * and the file's `drain` resumes it. The body's end and a failure resume it too (an ended
 * file emits no `drain`, and the next request on the connection must be read).
 * @internal
 */
export class ReadGate {
  #paused = false

  constructor(readonly control: BodyControl) {}

  /** Writes `chunk` to `out`; pauses reading until `out` drains when it is behind. */
  write(out: fs.WriteStream, chunk: Buffer): void {
    if (out.write(chunk) || this.#paused) return
    this.pause()
    out.once('drain', () => this.resume())
  }

  /** Pauses reading (once, however often it is called) until {@link resume}. */
  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.control.pause()
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.control.resume()
  }
}
