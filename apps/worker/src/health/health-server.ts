import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ReadinessReport } from '@app/health';

export interface HealthServerDeps {
  /** Readiness of the process (libs/health: event store, Redis, read store). */
  readiness: () => Promise<ReadinessReport>;
  /** The process's Prometheus registry (MetricsService). */
  metrics: { readonly contentType: string; scrape(): Promise<string> };
  logger: Logger;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The worker's health and metrics port, on plain node:http (three routes, no auth: docs/http-api.md exempts
 * health and metrics), answering in the api's shapes:
 * - `GET /health/live`: `{ "status": "ok" }`. Any answer at all proves the event loop runs: a
 *   hung or stopped process accepts the connection (the kernel does) but never answers, and the
 *   probe times out. It checks nothing else, so an outage of Redis or a store never fails it.
 * - `GET /health/ready`: `{ "status": "ok", "checks": {...} }`, or 503 SERVICE_UNAVAILABLE in the
 *   error shape of docs/http-api.md with each check's state in `details`.
 * - `GET /metrics`: the process's Prometheus registry, with its content type.
 * Anything else: 404 NOT_FOUND.
 */
export class HealthServer {
  private readonly server: Server;

  constructor(private readonly deps: HealthServerDeps) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // Probes and scrapers send small requests: a client that dawdles is dropped.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
  }

  /** Listens; resolves with the bound port (PORT 0: a free one). */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${error.code})`;
        reject(
          new Error(
            `WORKER_HEALTH_PORT ${port} ${why}: pick another port (0 = a free one) or set WORKER_HEALTH_PORT=off.`,
            { cause: error },
          ),
        );
      };
      this.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.off('error', failed);
        resolve(this.port!);
      });
    });
  }

  /** The bound port, or null when not listening. */
  get port(): number | null {
    const address = this.server.address() as AddressInfo | null;
    return address ? address.port : null;
  }

  /**
   * Stops listening and closes idle keep-alive connections (a Prometheus scraper keeps one open);
   * requests in progress get until `timeoutMs`, then their connections are cut.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.server.closeAllConnections();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([closed, bound]);
    clearTimeout(timer);
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
      switch (path) {
        case '/health/live':
          return send(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok' }));
        case '/health/ready': {
          const report = await this.deps.readiness();
          if (report.ready)
            return send(
              res,
              200,
              JSON_TYPE,
              JSON.stringify({ status: 'ok', checks: report.checks }),
            );
          return sendError(res, 503, 'SERVICE_UNAVAILABLE', report.message, report.checks);
        }
        case '/metrics':
          return send(res, 200, this.deps.metrics.contentType, await this.deps.metrics.scrape());
        default:
          return notFound(res);
      }
    } catch (error) {
      this.deps.logger.error({ err: error, path }, 'worker health port: request failed');
      if (!res.headersSent)
        sendError(res, 500, 'INTERNAL', 'Internal error; it has been logged.', undefined);
      else res.destroy();
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> | undefined,
): void {
  const body = { error: { code, message, ...(details ? { details } : {}) } };
  send(res, status, JSON_TYPE, JSON.stringify(body));
}

const notFound = (res: ServerResponse) =>
  sendError(res, 404, 'NOT_FOUND', 'No such route.', undefined);
