// The HTTP face of the serving path, on plain node:http:
//   POST /search   {query, key?, k?} → results with fingerprints; 400 bad JSON / invalid body,
//                  408 body too slow, 413 body too large, 415 not JSON, 429 rate-limited or overloaded,
//                  503 not ready
//   GET  /health   version, pointer, ingest/search/rerank status, reranker stats, KPI recorder
//   GET  /metrics  Prometheus text exposition (prom-client)
// Every failure is answered with a JSON body {error, message} and never escapes as an exception: a
// bad client cannot crash the process, and a slow one cannot hold a search slot: the body is read
// (size- and time-limited) before a slot is taken, and headers/requests have their own timeouts.
// A 500 or 503 never carries an internal error's text (driver messages name hosts and users): the
// detail goes to the log. close() drains in-flight requests before returning.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeIssues, SearchRequestSchema } from './search-request';
import { ServiceUnavailableError, type SearchService } from './search-service';
import type { ServeMetrics } from './serve-metrics';
import { TokenBucket } from './token-bucket';

export interface HttpServerOptions {
  /** Largest accepted /search body. */
  maxBodyBytes?: number;
  rateLimit?: { perSecond: number; burst: number };
  /** Searches served at once; beyond this a request gets 429 instead of queueing. */
  maxInFlight?: number;
  /** Whole request headers must arrive within this (default 10 s; Node's own is 60 s). */
  headersTimeoutMs?: number;
  /** Whole request, headers and body, within this (default 30 s; Node's own is 300 s). */
  requestTimeoutMs?: number;
  /** A /search body must be read within this once its headers are in (default 5 s): 408 otherwise. */
  bodyTimeoutMs?: number;
  /** Builds the /health document (status code 200 when ready, 503 otherwise). */
  health: () => Promise<{ ready: boolean; body: unknown }>;
  /** Where internal errors go in full (default: stderr). */
  log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class ServeHttpServer {
  readonly server: http.Server;
  private readonly limiter: TokenBucket;
  private readonly maxBodyBytes: number;
  private readonly maxInFlight: number;
  private readonly bodyTimeoutMs: number;
  private readonly log: (line: string) => void;
  private inFlight = 0;
  private errorSeq = 0;
  private closing = false;

  constructor(
    private readonly service: SearchService,
    private readonly metrics: ServeMetrics,
    private readonly o: HttpServerOptions,
  ) {
    this.maxBodyBytes = o.maxBodyBytes ?? 16 * 1024;
    this.maxInFlight = o.maxInFlight ?? 256;
    this.bodyTimeoutMs = o.bodyTimeoutMs ?? 5_000;
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.limiter = new TokenBucket(o.rateLimit ?? { perSecond: 2000, burst: 4000 });
    // Timeouts are enforced on this interval (Node's default 30 s would let a 10 s timeout run to 40 s).
    this.server = http.createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, 'unknown', err));
    });
    this.server.keepAliveTimeout = 5000;
    // Slowloris: a client trickling headers or a body must not keep a socket for Node's 60 s / 300 s.
    this.server.headersTimeout = o.headersTimeoutMs ?? 10_000;
    this.server.requestTimeout = o.requestTimeoutMs ?? 30_000;
    // Malformed HTTP never reaches handle(); answer it plainly instead of dropping the socket.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'; // headers or request not in within the timeouts
      if (socket.writable) socket.end(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops accepting, waits up to graceMs for in-flight requests, then closes every connection. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const t0 = process.hrtime.bigint();
    const route = path === '/search' || path === '/health' || path === '/metrics' ? path : 'other';
    res.on('finish', () => {
      this.metrics.responses.inc({ route, status: String(res.statusCode) });
      this.metrics.http.observe({ route }, Number(process.hrtime.bigint() - t0) / 1e9);
    });
    try {
      if (path === '/search') {
        if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST /search with a JSON body', { Allow: 'POST' });
        await this.search(req, res);
      } else if (path === '/health') {
        if (req.method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'use GET /health', { Allow: 'GET' });
        const h = await this.o.health();
        this.json(res, h.ready ? 200 : 503, h.body);
      } else if (path === '/metrics') {
        if (req.method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'use GET /metrics', { Allow: 'GET' });
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
        res.end(text);
      } else {
        throw new HttpError(404, 'not_found', `no route ${req.method} ${path}; try POST /search, GET /health, GET /metrics`);
      }
    } catch (err) {
      this.fail(res, route, err, req);
    }
  }

  private async search(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.closing) throw new HttpError(503, 'shutting_down', 'the service is shutting down', { Connection: 'close' });
    // Admission first: a refused request costs no body read, no JSON parse, no model call.
    const wait = this.limiter.take();
    if (wait > 0) throw new HttpError(429, 'rate_limited', `rate limit exceeded; retry in ${wait} ms`, { 'Retry-After': String(Math.ceil(wait / 1000)) });
    if (this.inFlight >= this.maxInFlight) throw this.overloaded();
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'unsupported_media_type', `send Content-Type: application/json, not ${type}`);
    // The whole body is in before a slot is taken: a slow client holds its socket, never a slot.
    const raw = await this.readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw new HttpError(400, 'bad_json', `the body is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = SearchRequestSchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error).join('; '));
    if (this.inFlight >= this.maxInFlight) throw this.overloaded();
    this.inFlight++;
    this.metrics.inFlight.inc();
    try {
      const response = await this.service.search(parsed.data);
      this.json(res, 200, response);
    } finally {
      this.inFlight--;
      this.metrics.inFlight.dec();
    }
  }

  private overloaded(): HttpError {
    return new HttpError(429, 'overloaded', `${this.inFlight} searches in flight (limit ${this.maxInFlight}); retry shortly`, { 'Retry-After': '1' });
  }

  private readBody(req: http.IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      return Promise.reject(new HttpError(413, 'body_too_large', `the body has ${declared} bytes; the limit is ${this.maxBodyBytes}`, { Connection: 'close' }));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        reject(new HttpError(408, 'body_timeout', `the body was not received within ${this.bodyTimeoutMs} ms`, { Connection: 'close' }));
      }, this.bodyTimeoutMs);
      req.once('close', () => clearTimeout(timer));
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > this.maxBodyBytes) {
          done = true;
          clearTimeout(timer);
          reject(new HttpError(413, 'body_too_large', `the body exceeds the limit of ${this.maxBodyBytes} bytes`, { Connection: 'close' }));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        reject(new HttpError(400, 'bad_request', `reading the body failed: ${err.message}`));
      });
    });
  }

  private json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private fail(res: http.ServerResponse, _route: string, err: unknown, req?: http.IncomingMessage): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status = 500;
    let code = 'internal';
    let message = err instanceof Error ? err.message : String(err);
    let headers: Record<string, string> = {};
    if (err instanceof HttpError) {
      ({ status, code, headers } = err);
    } else if (err instanceof ServiceUnavailableError) {
      status = 503;
      code = 'unavailable';
      headers = { 'Retry-After': '1' };
    }
    if ((status === 413 || status === 408) && req) {
      // Stop reading a body we refused; the socket is closed once the answer is out.
      res.on('finish', () => req.destroy());
    } else if (req && !req.complete) {
      req.resume(); // drain the unread body so the keep-alive connection stays usable
    }
    if (status >= 500 && !(err instanceof HttpError)) {
      // Internal detail (a driver's message names hosts, users, tables) goes to the log, not the client.
      const ref = `e${Date.now().toString(36)}-${++this.errorSeq}`;
      this.log(`[serve] ${req?.method ?? '?'} ${req?.url ?? '?'} → ${status} ${code} (${ref}): ${err instanceof Error ? (err.stack ?? err.message) : message}`);
      message = code === 'internal' ? `search failed (reference ${ref}; details are in the service log)` : code === 'unavailable' ? `the service cannot answer now (reference ${ref}); see GET /health` : message;
    }
    this.json(res, status, { error: code, message }, headers);
  }
}
