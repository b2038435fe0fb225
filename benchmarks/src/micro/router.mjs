// @mummy/router: match() on a 40-route REST table — a static route near the top, a param route in
// the middle, a wildcard near the end, a miss that tries every route, and a 405.
import { Router } from '@mummy/router'
import { timePerCall } from './harness.mjs'

function table() {
  const router = new Router()
  const noop = () => {}
  router.get('/', noop)
  router.get('/health', noop)
  for (const resource of ['users', 'orders', 'products', 'invoices', 'carts', 'reviews']) {
    router.get(`/api/${resource}`, noop)
    router.post(`/api/${resource}`, noop)
    router.get(`/api/${resource}/:id`, noop)
    router.put(`/api/${resource}/:id`, noop)
    router.delete(`/api/${resource}/:id`, noop)
    router.get(`/api/${resource}/:id/history/*`, noop)
  }
  router.get('/static/**', noop)
  router.get('/files/*.js', noop)
  return router
}

export default function run() {
  const router = table()
  const cases = [
    ['static, 2nd route: GET /health', 'GET', '/health', 'found'],
    ['param, mid-table: GET /api/products/1234', 'GET', '/api/products/1234', 'found'],
    ['param + query: GET /api/reviews/77?page=3', 'GET', '/api/reviews/77?page=3', 'found'],
    ['wildcard, near the end: GET /static/css/site.css', 'GET', '/static/css/site.css', 'found'],
    ['percent-decoded param: GET /api/users/ada%20l', 'GET', '/api/users/ada%20l', 'found'],
    ['miss (404), every route tried: GET /nope/x', 'GET', '/nope/x', 'not-found'],
    ['405: PATCH /api/users/1', 'PATCH', '/api/users/1', 'method-not-allowed'],
  ]
  return cases.map(([name, method, uri, kind]) => {
    const ms = timePerCall(() => {
      if (router.match(method, uri).kind !== kind) throw new Error(`${name}: wrong match`)
      return true
    })
    return { name, unit: 'match', nsPerOp: ms * 1e6, opsPerSec: 1000 / ms }
  })
}
