// node:http on node:cluster, one process per core of the server's CPU set: the scenario's
// node:http server file, forked by apps/wrk-servers/lib/node-cluster.js. What a Node user would
// run on a bigger machine instead of threads; part of the default set with `--cores`.
import path from 'node:path'
import { WRK_SERVERS_DIR, serverFile } from './wrk-servers.mjs'

export default {
  id: 'node-cluster',
  label: 'node:http cluster',
  color: '#8fbf3f',
  countsWorkers: true,
  script: () => path.join(WRK_SERVERS_DIR, 'lib', 'node-cluster.js'),
  env: (options, scenario) => ({ NODE_CLUSTER_APP: serverFile(scenario, 'node') }),
  scalingOnly: true,
}
