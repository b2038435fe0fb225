// Test data for the permessage-deflate cases (sections 12 and 13). Autobahn ships real files
// (a JSON document, a bitmap, Goethe's Faust, an HTML page); these are generated stand-ins of the
// same kind and size, deterministic (seeded), so compression behaves alike from run to run.

/** One data set: its bytes and whether it is sent as binary. */
export interface TestData {
  title: string
  binary: boolean
  bytes: Buffer
}

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut ' +
  'labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris ' +
  'nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse'
).split(' ')

function fill(size: number, next: () => string): Buffer {
  const parts: string[] = []
  let len = 0
  while (len < size) {
    const s = next()
    parts.push(s)
    len += Buffer.byteLength(s)
  }
  return Buffer.from(parts.join('')).subarray(0, size)
}

/** A large JSON document (ASCII), 194237 bytes. */
function json(): Buffer {
  const r = rng(1)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const first = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy']
  const last = ['Smith', 'Jones', 'Brown', 'Miller', 'Davis', 'Garcia', 'Wilson', 'Moore']
  let id = 0
  const out = fill(194237 - 2, () => {
    const name = `${pick(first)} ${pick(last)}`
    const record = {
      id: id++,
      guid: Math.floor(r() * 2 ** 48).toString(16),
      isActive: r() < 0.5,
      balance: `$${(r() * 4000).toFixed(2)}`,
      age: 20 + Math.floor(r() * 50),
      name,
      email: `${name.toLowerCase().replace(' ', '.')}@example.com`,
      about: Array.from({ length: 12 }, () => pick(WORDS)).join(' '),
      latitude: Number((r() * 180 - 90).toFixed(6)),
      longitude: Number((r() * 360 - 180).toFixed(6)),
      tags: Array.from({ length: 4 }, () => pick(WORDS)),
      friends: Array.from({ length: 3 }, (_, i) => ({
        id: i,
        name: `${pick(first)} ${pick(last)}`,
      })),
    }
    return `${id === 1 ? '' : ','}${JSON.stringify(record)}`
  })
  return Buffer.concat([Buffer.from('['), out, Buffer.from(']')])
}

/** A 512×512 8-bit grayscale bitmap with smooth shading and some noise, 263222 bytes. */
function bitmap(): Buffer {
  const r = rng(2)
  const header = Buffer.alloc(54 + 1024)
  header.write('BM', 0, 'latin1')
  header.writeUInt32LE(263222, 2)
  header.writeUInt32LE(54 + 1024, 10)
  header.writeUInt32LE(40, 14)
  header.writeInt32LE(512, 18)
  header.writeInt32LE(512, 22)
  header.writeUInt16LE(1, 26)
  header.writeUInt16LE(8, 28)
  header.writeUInt32LE(512 * 512, 34)
  for (let i = 0; i < 256; i++) header.writeUInt32LE(i * 0x010101, 54 + i * 4)
  const pixels = Buffer.alloc(512 * 512)
  for (let y = 0; y < 512; y++) {
    for (let x = 0; x < 512; x++) {
      const v = 128 + 60 * Math.sin(x / 37) * Math.cos(y / 23) + 40 * Math.sin((x + y) / 61)
      pixels[y * 512 + x] = Math.max(0, Math.min(255, Math.round(v + (r() - 0.5) * 24)))
    }
  }
  return Buffer.concat([header, pixels])
}

/** German verse-like text with umlauts (UTF-8, sent as binary), 222218 bytes. */
function verse(): Buffer {
  const r = rng(3)
  const words = (
    'Habe nun ach Philosophie Juristerei und Medizin und leider auch Theologie durchaus ' +
    'studiert mit heißem Bemühn da steh ich nun ich armer Tor und bin so klug als wie zuvor ' +
    'heiße Magister heiße Doktor gar und ziehe schon an die zehen Jahr herauf herab und quer ' +
    'und krumm meine Schüler an der Nase herum Daß wir nichts wissen können Herz verbrennen'
  ).split(' ')
  return fill(222218, () => {
    const n = 5 + Math.floor(r() * 5)
    const line = Array.from({ length: n }, () => words[Math.floor(r() * words.length)]!).join(' ')
    return r() < 0.1 ? `\n${line.toUpperCase()}.\n\n` : `${line},\n`
  })
}

/** An HTML page (ASCII), 83564 bytes. */
function html(): Buffer {
  const r = rng(4)
  const pick = (): string => WORDS[Math.floor(r() * WORDS.length)]!
  let row = 0
  const head = Buffer.from('<!DOCTYPE html><html><body><table>\n')
  const tail = Buffer.from('</table></body></html>\n')
  const body = fill(83564 - head.length - tail.length, () => {
    row++
    const cells = Array.from(
      { length: 4 },
      () => `<td class="c${Math.floor(r() * 5)}">${pick()} ${pick()}</td>`,
    )
    return `<tr id="r${row}">${cells.join('')}</tr>\n`
  })
  return Buffer.concat([head, body, tail])
}

let cache: TestData[] | null = null

/** Autobahn's data sets in the order of sections 12.1 … 12.4. */
export function compressionTestData(): TestData[] {
  cache ??= [
    { title: 'Large JSON data file (utf8, 194237 bytes)', binary: false, bytes: json() },
    { title: 'Bitmap 512x512 (binary, 263222 bytes)', binary: true, bytes: bitmap() },
    { title: 'Human readable German text (binary, 222218 bytes)', binary: true, bytes: verse() },
    { title: 'Large HTML file (utf8, 83564 bytes)', binary: false, bytes: html() },
  ]
  return cache
}
