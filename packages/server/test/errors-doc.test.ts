// Keeps docs/errors.md and the source in sync: every ERR_MUMMY_* code used in a package's
// source is documented, and every documented code is used.
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function sources(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) out.push(...sources(full))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full)
  }
  return out
}

describe('docs/errors.md', () => {
  const packages = readdirSync(path.join(ROOT, 'packages'))
  const used = new Set<string>()
  for (const pkg of packages) {
    for (const file of sources(path.join(ROOT, 'packages', pkg, 'src'))) {
      // Codes in TSDoc examples are illustrations, not codes the package raises.
      const code = readFileSync(file, 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '')
      for (const m of code.matchAll(/ERR_MUMMY_[A-Z0-9_]+/g)) used.add(m[0])
    }
  }
  const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8')
  const documented = new Set([...doc.matchAll(/`(ERR_MUMMY_[A-Z0-9_]+)`/g)].map((m) => m[1]!))

  it('documents every code the source uses', () => {
    expect([...used].filter((c) => !documented.has(c)).sort()).toEqual([])
  })
  it('documents no code the source does not use', () => {
    expect([...documented].filter((c) => !used.has(c)).sort()).toEqual([])
  })
})
