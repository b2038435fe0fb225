// The competitors. Each adapter says where its server file for a scenario is and how to start
// it; the runner treats them all alike. Server files live in apps/wrk-servers, one per
// (scenario × server), named `<scenario>-<adapter id>.js`.
import fastify from './fastify.mjs'
import mummy from './mummy.mjs'
import mummyUws from './mummy-uws.mjs'
import node from './node.mjs'
import uws from './uws.mjs'

/** Every adapter, in table order; node:http is the baseline ratios are computed against. */
export const ADAPTERS = [mummy, mummyUws, node, fastify, uws]
export const BASELINE = 'node'
