// Prints the plain "N passed, N failed[, N skipped]" line from jest's --json output, plus the fuzz
// targets' results (test/fuzz/run.mjs --json), one test each, the soak run (one failure), the
// pack-and-install checks (scripts/pack-check.mjs --json), one test each, and the release dry run
// (one failure). A suite that failed to run (syntax
// error, crash) counts as one failure; a lint failure too, and a fuzz run that left no results.
// Exit code 1 when anything failed or nothing ran.
import { readFileSync } from 'node:fs'

const [
  file = '.jest-results.json',
  lintFailed = '0',
  smokeFailed = '0',
  fuzzFile,
  soakFailed = '0',
  packFile,
  releaseFailed = '0',
] = process.argv.slice(2)
let results
try {
  results = JSON.parse(readFileSync(file, 'utf8'))
} catch (error) {
  console.log(`cannot read ${file}: ${error.message}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}
let fuzz = { passed: 0, failed: 0 }
if (fuzzFile !== undefined) {
  try {
    fuzz = JSON.parse(readFileSync(fuzzFile, 'utf8'))
  } catch {
    console.log(`fuzz run left no results in ${fuzzFile}`)
    fuzz = { passed: 0, failed: 1 }
  }
  if (fuzz.failed > 0) console.log(`fuzz: ${fuzz.failed} target(s) found a violation`)
}
let pack = { passed: 0, failed: 0, checks: [] }
if (packFile !== undefined) {
  try {
    pack = JSON.parse(readFileSync(packFile, 'utf8'))
  } catch {
    console.log(`pack check left no results in ${packFile}`)
    pack = { passed: 0, failed: 1, checks: [] }
  }
  for (const c of pack.checks) if (!c.ok) console.log(`pack check failed: ${c.name}`)
}
const passed = results.numPassedTests + fuzz.passed + pack.passed
const skipped = results.numPendingTests + results.numTodoTests
const failed =
  results.numFailedTests +
  results.numRuntimeErrorTestSuites +
  Number(lintFailed === '1') +
  Number(smokeFailed === '1') +
  fuzz.failed +
  Number(soakFailed === '1') +
  pack.failed +
  Number(releaseFailed === '1')
for (const suite of results.testResults) {
  if (suite.status === 'failed') console.log(`failed: ${suite.name}`)
}
if (lintFailed === '1') console.log('lint failed')
if (smokeFailed === '1') console.log('benchmark smoke run failed')
if (soakFailed === '1') console.log('soak run failed')
if (releaseFailed === '1') console.log('release dry run failed')
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
