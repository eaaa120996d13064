import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, and what it answered. */
export interface ReceivedDelivery {
  /** `webhook-id`: the integration event's id. */
  id: string;
  body: string;
  event: { id: string; type: string; position: string; subscriptionId?: string; accountId: string };
  /** The signature checked with the standardwebhooks package, as a consumer would. */
  verified: boolean;
  /** The status answered (null while held). */
  status: number | null;
}

export type Answer = number | 'hold' | { redirect: string };

/**
 * A real HTTP server receiving webhooks, like a product service would: checks each request's
 * Standard Webhooks signature with the `standardwebhooks` package and the endpoint's secret,
 * answers what `answer` says (a status, a redirect, or `hold`: no answer until `release()`), and
 * deduplicates on `webhook-id` like an idempotent consumer (`accepted`).
 */
export class WebhookReceiver {
  readonly requests: ReceivedDelivery[] = [];
  /** Events in the order their first 2xx answer went out: what an idempotent consumer applied. */
  readonly applied: ReceivedDelivery[] = [];
  /** Arrivals and answers, in the order they happened. */
  readonly timeline: { kind: 'request' | 'answer'; delivery: ReceivedDelivery }[] = [];
  secret: string | null = null;
  answer: (delivery: ReceivedDelivery, index: number) => Answer = () => 200;
  private held: { res: ServerResponse; delivery: ReceivedDelivery }[] = [];
  private holding = true;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly scheme: 'http' | 'https',
  ) {}

  /** With `tls` (a PEM key and certificate for 127.0.0.1), an https server. */
  static async start(tls?: { key: string; cert: string }): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const handler = (req: IncomingMessage, res: ServerResponse) => receiver!.handle(req, res);
    const server: Server = tls ? createTlsServer(tls, handler) : createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    receiver = new WebhookReceiver(server, port, tls ? 'https' : 'http');
    return receiver;
  }

  url(path = '/hooks'): string {
    return `${this.scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** The ids an idempotent consumer has applied (each once). */
  appliedIds(): string[] {
    return this.applied.map((d) => d.id);
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Answers the held requests 200 and holds no more. */
  release(): void {
    this.holding = false;
    for (const { res, delivery } of this.held.splice(0)) this.reply(res, delivery, 200);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
      );
      let verified = false;
      if (this.secret)
        try {
          new Webhook(this.secret).verify(body, headers);
          verified = true;
        } catch {
          verified = false;
        }
      const delivery: ReceivedDelivery = {
        id: headers['webhook-id'] ?? '',
        body,
        event: JSON.parse(body) as ReceivedDelivery['event'],
        verified,
        status: null,
      };
      this.requests.push(delivery);
      this.timeline.push({ kind: 'request', delivery });
      const answer = this.answer(delivery, this.requests.length - 1);
      if (answer === 'hold' && this.holding) {
        this.held.push({ res, delivery });
        return;
      }
      if (typeof answer === 'object') {
        delivery.status = 302;
        this.timeline.push({ kind: 'answer', delivery });
        res.writeHead(302, { location: answer.redirect });
        res.end();
        return;
      }
      this.reply(res, delivery, answer === 'hold' ? 200 : answer);
    });
  }

  private reply(res: ServerResponse, delivery: ReceivedDelivery, status: number): void {
    delivery.status = status;
    this.timeline.push({ kind: 'answer', delivery });
    if (status >= 200 && status < 300 && !this.applied.some((d) => d.id === delivery.id))
      this.applied.push(delivery);
    res.statusCode = status;
    res.end(status >= 300 ? 'no thanks' : '');
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export { eventually } from './eventually';
