// Small numeric helpers shared by the runner and the reports.

/** Median of the finite numbers in `values` (mean of the middle two for an even count), or null. */
export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** 12345.6 → "12,346". */
export function formatInt(value) {
  return value === null || value === undefined ? '—' : Math.round(value).toLocaleString('en-US')
}

/** Milliseconds with sensible precision: 0.42 ms, 4.2 ms, 42 ms, 1,234 ms. */
export function formatMs(value) {
  if (value === null || value === undefined) return '—'
  if (value < 1) return `${value.toFixed(2)} ms`
  if (value < 10) return `${value.toFixed(1)} ms`
  return `${formatInt(value)} ms`
}

/** Microseconds: 38.2 µs, 1,234 µs. */
export function formatUs(value) {
  if (value === null || value === undefined) return '—'
  return value < 100 ? `${value.toFixed(1)} µs` : `${formatInt(value)} µs`
}

/** Bytes → "123 MB" (10^6). */
export function formatMB(bytes) {
  return bytes === null || bytes === undefined ? '—' : `${formatInt(bytes / 1e6)} MB`
}

/** 1.234 → "1.23×". */
export function formatRatio(value) {
  if (value === null || value === undefined) return '—'
  return `${value < 0.1 ? value.toFixed(3) : value.toFixed(2)}×`
}
