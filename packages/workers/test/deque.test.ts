import { describe, expect, it } from '@jest/globals'
import { Deque } from '../dist/deque.js'

describe('Deque', () => {
  it('is FIFO across compactions', () => {
    const q = new Deque<number>()
    let next = 0
    let expected = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) q.push(next++)
      for (let i = 0; i < 60; i++) expect(q.shift()).toBe(expected++)
    }
    expect(q.length).toBe(next - expected)
    expect(q.peek()).toBe(expected)
  })

  it('puts items back in front in order, and drains', () => {
    const q = new Deque<string>()
    q.push('c')
    q.push('d')
    q.shift()
    q.unshiftAll(['a', 'b'])
    expect(q.drain()).toEqual(['a', 'b', 'd'])
    expect(q.length).toBe(0)
    expect(q.shift()).toBeUndefined()
  })
})
