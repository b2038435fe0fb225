// node:http on node:cluster: the primary forks one process per core (the CPUs this process may
// run on, so `taskset` decides), and each runs the scenario's node:http server file — what a Node
// user would deploy instead of threads on a bigger machine. The workers share the listening
// socket through the primary (round-robin, Node's default on Linux).
//
//   NODE_CLUSTER_APP=/abs/path/hello-node.js [NODE_CLUSTER_PROCESSES=N] PORT=8080 node lib/node-cluster.js
import cluster from 'node:cluster'
import os from 'node:os'
import { HOST, PORT } from './config.js'

const app = process.env.NODE_CLUSTER_APP
if (app === undefined) {
  console.error('NODE_CLUSTER_APP must name the node:http server file to run in each process')
  process.exit(2)
}

if (cluster.isPrimary) {
  const count = Number(process.env.NODE_CLUSTER_PROCESSES ?? os.availableParallelism())
  let listening = 0
  let stopping = false
  for (let i = 0; i < count; i++) cluster.fork()
  cluster.on('listening', () => {
    if (++listening === count)
      console.log(`node:http cluster listening on ${HOST}:${PORT} with ${count} workers`)
  })
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(`node:http cluster: worker ${worker.process.pid} exited (${code ?? signal})`)
    process.exit(1)
  })
  const stop = () => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  await import(app)
}
