// Worker for the pool micro-benchmark: answers each job with one small message.
import { runWorker } from '@mummy/workers'

runWorker((payload, ctx) => {
  ctx.post(payload)
})
