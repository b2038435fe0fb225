import { Router } from '@mummy/server'

const cell = new Int32Array(new SharedArrayBuffer(4))
const router = new Router()
router.get('/fast', (request) => request.respond(200, {}, 'fast'))
router.get('/slow', (request) => {
  Atomics.wait(cell, 0, 0, 2000)
  request.respond(200, {}, 'slow')
})
export default router
