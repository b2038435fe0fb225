// The Transport contract (@mummy/io-loop's transport.ts), one suite run against both transports
// (here, in the package that has both). The node:net
// transport meets it whole; uWebSockets.js meets it but for the deviations the README's table
// "Where it differs from the node:net transport" documents, which the suite then asserts as what
// they are. What only one transport has (node's maxPipelinedRequests, writeHighWaterMark,
// Expect: 100-continue) stays in that transport's own test file.
import {
  runTransportContract,
  type ContractBodyControl,
  type ContractBodyHead,
  type ContractBodySink,
  type ContractOptions,
  type ContractRequest,
  type ContractResponseWriter,
  type ContractStream,
  type ContractStreamEvents,
  type ContractTransport,
  type ContractWebSocket,
  type ContractWebSocketEvents,
  type ContractWebSocketSettings,
  type TransportDeviation,
} from '@mummy/test-kit'
import {
  NodeTransport,
  type BodyControl,
  type BodyHead,
  type BodySink,
  type ResponseWriter,
  type StreamEvents,
  type Transport,
  type TransportOptions,
  type TransportRequest,
  type TransportStream,
  type TransportWebSocket,
  type WebSocketEvents,
  type WebSocketSettings,
} from '@mummy/io-loop'
import { UwsTransport } from '../dist/index.js'

// The kit describes the contract's types structurally (it cannot depend on this package, whose
// tests depend on it). These fail to compile when the two drift apart: what a transport gives
// must fit the kit's types, and what the suite gives must fit the transport's.
type Fits<From, To> = [From] extends [To] ? true : false
type Check<T extends true> = T
export type _KitMatchesContract = [
  Check<Fits<Transport, ContractTransport>>,
  Check<Fits<NodeTransport, ContractTransport>>,
  Check<Fits<UwsTransport, ContractTransport>>,
  Check<Fits<TransportRequest, ContractRequest>>,
  Check<Fits<ResponseWriter, ContractResponseWriter>>,
  Check<Fits<TransportStream, ContractStream>>,
  Check<Fits<TransportWebSocket, ContractWebSocket>>,
  Check<Fits<BodyHead, ContractBodyHead>>,
  Check<Fits<BodyControl, ContractBodyControl>>,
  Check<Fits<ContractOptions, Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'>>>,
  Check<Fits<ContractWebSocketSettings, WebSocketSettings>>,
  Check<Fits<ContractWebSocketEvents, WebSocketEvents>>,
  Check<Fits<ContractStreamEvents, StreamEvents>>,
  Check<Fits<ContractBodySink, BodySink>>,
]

runTransportContract('node', (options) => new NodeTransport(options))

/**
 * uWebSockets.js's documented deviations (packages/uws/README.md, "Where it differs from the
 * node:net transport").
 */
const UWS_DEVIATIONS: TransportDeviation[] = [
  'pipelining',
  'http10',
  'malformed-heads-unanswered',
  'underscore-field-names',
  'non-origin-targets',
  'close-before-first-request',
  'lenient-chunked',
  'timeouts',
  'ws-pause',
  'ws-protocol-errors',
  'extra-response-headers',
  'stream-head-with-first-piece',
  'stream-close-left-to-peer',
  'huge-content-length',
  'five-byte-connection-is-close',
  'connections',
  'lowercase-header-names',
  'unsubscribe-drops-published',
  'backpressure-close-drops',
  'cl-with-te-unanswered',
]

runTransportContract('uws', (options) => new UwsTransport(options), {
  deviations: UWS_DEVIATIONS,
})
