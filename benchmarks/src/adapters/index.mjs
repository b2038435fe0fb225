// The competitors. Each adapter says where its server file for a scenario is and how to start
// it; the runner treats them all alike. Server files live in apps/wrk-servers, one per
// (scenario × server), named `<scenario>-<adapter id>.js`.
import fastify from './fastify.mjs'
import mummy from './mummy.mjs'
import mummyUws from './mummy-uws.mjs'
import node from './node.mjs'
import nodeCluster from './node-cluster.mjs'
import uws from './uws.mjs'

/**
 * Every adapter, in table order; node:http is the baseline ratios are computed against. An
 * adapter with `scalingOnly` runs by default only with `--cores` (or when named in `--servers`);
 * one with `countsWorkers` prints "… with N workers" once listening.
 */
export const ADAPTERS = [mummy, mummyUws, node, nodeCluster, fastify, uws]
export const BASELINE = 'node'
