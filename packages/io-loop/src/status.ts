/**
 * `@mummy/io-loop/status`: HTTP status reason phrases and status-line helpers, alone — for code
 * that needs a reason phrase without loading a transport (the server's worker threads).
 * @packageDocumentation
 */
/** Reason phrases for the status codes a server commonly sends (RFC 9110 §15). */
export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
})

/**
 * The status line for `status`, e.g. `HTTP/1.1 404 Not Found\r\n`. Lines for common statuses
 * are built once.
 */
export function statusLine(status: number): string {
  return STATUS_LINES[status] ?? `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`
}

const STATUS_LINES: Record<number, string> = Object.create(null) as Record<number, string>
for (const key of Object.keys(STATUS_TEXT)) {
  const code = Number(key)
  STATUS_LINES[code] = `HTTP/1.1 ${code} ${STATUS_TEXT[code]}\r\n`
}

/** `true` for statuses whose responses never carry a body (1xx, 204, 304). */
export function isBodylessStatus(status: number): boolean {
  return status < 200 || status === 204 || status === 304
}

/** `200 OK`: the status code and reason phrase without the version (cached for known codes). */
export function statusReason(status: number): string {
  return STATUS_REASONS[status] ?? `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`
}

const STATUS_REASONS: Record<number, string> = Object.create(null) as Record<number, string>
for (const key of Object.keys(STATUS_TEXT))
  STATUS_REASONS[Number(key)] = `${key} ${STATUS_TEXT[Number(key)]}`
