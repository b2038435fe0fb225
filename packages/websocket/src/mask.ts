// XOR masking (RFC 6455 §5.3). The same operation masks and unmasks.

// Below this many bytes a byte loop beats creating a word view.
const WORD_MIN = 32

// Scratch for building a 32-bit mask word in platform byte order.
const wordBytes = new Uint8Array(4)
const wordView = new Uint32Array(wordBytes.buffer)

/**
 * XORs `data` in place with the 4-byte `mask`, starting at mask position `offset & 3` (the
 * position of `data[0]` within the frame payload). Returns the mask position after the last byte,
 * so a payload that arrives in pieces can be unmasked piece by piece.
 *
 * Aligned 32-bit words are processed four bytes at a time.
 */
export function applyMask(data: Uint8Array, mask: Uint8Array, offset: number): number {
  const len = data.length
  let k = offset & 3
  let i = 0
  if (len >= WORD_MIN) {
    // Byte loop up to the first 4-byte aligned address.
    const head = (4 - (data.byteOffset & 3)) & 3
    for (; i < head; i++) {
      data[i]! ^= mask[k]!
      k = (k + 1) & 3
    }
    const words = (len - i) >>> 2
    wordBytes[0] = mask[k]!
    wordBytes[1] = mask[(k + 1) & 3]!
    wordBytes[2] = mask[(k + 2) & 3]!
    wordBytes[3] = mask[(k + 3) & 3]!
    const m = wordView[0]!
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words)
    for (let w = 0; w < words; w++) view[w]! ^= m
    i += words << 2
    // k is unchanged: each word consumed exactly four mask positions.
  }
  for (; i < len; i++) {
    data[i]! ^= mask[k]!
    k = (k + 1) & 3
  }
  return k
}
