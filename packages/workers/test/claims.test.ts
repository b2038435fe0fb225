import { describe, expect, it } from '@jest/globals'
import { ClaimTable, UNCLAIMED, WITHDRAWN } from '../dist/claims.js'
import { CELLS_PER_SLOT, SEGMENT_SLOTS } from '../dist/protocol.js'

function claim(table: ClaimTable<unknown>, slot: number, gen: number, worker: number): boolean {
  const view = new Int32Array(table.segments[Math.floor(slot / SEGMENT_SLOTS)] as SharedArrayBuffer)
  const at = (slot % SEGMENT_SLOTS) * CELLS_PER_SLOT
  return Atomics.compareExchange(view, at, gen << 8, (gen << 8) | (worker + 1)) === gen << 8
}

describe('ClaimTable', () => {
  it('lets exactly one worker claim a slot, and tells who did', () => {
    const table = new ClaimTable<string>()
    const slot = table.alloc('job')
    expect(table.claimer(slot)).toBe(UNCLAIMED)
    expect(claim(table, slot, table.gen(slot), 3)).toBe(true)
    expect(claim(table, slot, table.gen(slot), 1)).toBe(false)
    expect(table.claimer(slot)).toBe(3)
    expect(table.owner(slot)).toBe('job')
  })

  it('bumps the generation on release so a stale copy can never claim', () => {
    const table = new ClaimTable<string>()
    const slot = table.alloc('a')
    const oldGen = table.gen(slot)
    table.release(slot)
    const again = table.alloc('b')
    expect(again).toBe(slot)
    expect(claim(table, slot, oldGen, 0)).toBe(false)
    expect(table.claimer(slot)).toBe(UNCLAIMED)
    expect(claim(table, slot, table.gen(slot), 0)).toBe(true)
  })

  it('revokes only unclaimed jobs', () => {
    const table = new ClaimTable<string>()
    const a = table.alloc('a')
    const b = table.alloc('b')
    claim(table, b, table.gen(b), 0)
    expect(table.revoke(a)).toBe(true)
    expect(table.claimer(a)).toBe(WITHDRAWN)
    expect(claim(table, a, table.gen(a), 0)).toBe(false)
    expect(table.revoke(b)).toBe(false)
  })

  it('recycles slots: memory follows jobs in flight, not jobs ever run', () => {
    const table = new ClaimTable<number>()
    for (let i = 0; i < 100_000; i++) table.release(table.alloc(i))
    expect(table.segments.length).toBe(1)
    const held = Array.from({ length: SEGMENT_SLOTS + 1 }, (_, i) => table.alloc(i))
    expect(new Set(held).size).toBe(SEGMENT_SLOTS + 1)
    expect(table.segments.length).toBe(2)
  })
})
