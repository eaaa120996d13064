import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HolderCall {
  idempotencyKey: string;
  body: {
    action?: 'purge' | 'verify';
    purgeId: string;
    subscriptionId: string;
    accountId: string;
    productId: string;
  };
  signatureValid: boolean;
}

/**
 * A real HTTP server playing a product's data holder: verifies the HMAC signature, deletes
 * "items" once per idempotency key and answers the same receipt when asked again. `behaviour`
 * decides each answer (fail, hang) so tests can drive retries and timeouts. D11: `POST …/verify`
 * answers how many items of the subscription it still holds (`leftover`, none by default); a
 * purge request under a new key deletes them unless `keepsLeftovers`. Verify calls are in
 * `verifyCalls`, the purge requests in `calls`.
 */
export class HolderServer {
  readonly calls: HolderCall[] = [];
  readonly verifyCalls: HolderCall[] = [];
  /** D11: items of a subscription that its first deletion missed, by subscription id. */
  readonly leftover = new Map<string, number>();
  /** D11: a holder whose deletions keep missing them (until set back to false). */
  keepsLeftovers = false;
  private readonly deleted = new Set<string>();
  verifyBehaviour: (call: HolderCall) => 'ok' | 'fail' | 'not-found' = () => 'ok';
  private readonly receipts = new Map<string, object>();
  private server!: Server;
  url = '';
  behaviour: (call: HolderCall, n: number) => 'ok' | 'fail' | 'hang' | 'bad-signature-ok' = () =>
    'ok';
  itemsHeld = 42;

  constructor(private readonly secret: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/purge`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const timestamp = String(req.headers['x-purge-timestamp'] ?? '');
    const expected = `sha256=${createHmac('sha256', this.secret).update(`${timestamp}.${raw}`).digest('hex')}`;
    const given = String(req.headers['x-purge-signature'] ?? '');
    const signatureValid =
      given.length === expected.length &&
      timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    const call: HolderCall = {
      idempotencyKey: String(req.headers['idempotency-key']),
      body: JSON.parse(raw),
      signatureValid,
    };
    if (req.url?.endsWith('/verify')) return this.verify(call, res);
    this.calls.push(call);
    if (!signatureValid || call.body.action !== 'purge')
      return void res.writeHead(401).end('{"error":"bad signature"}');
    const what = this.behaviour(call, this.calls.length);
    if (what === 'hang') return; // never answers: the client's timeout must fire
    if (what === 'fail') return void res.writeHead(500).end('{"error":"boom"}');
    let receipt = this.receipts.get(call.idempotencyKey);
    const sub = call.body.subscriptionId;
    // A deletion after the first one (a new key for the same subscription) takes what was left.
    if (!receipt && this.deleted.has(sub) && !this.keepsLeftovers) this.leftover.delete(sub);
    this.deleted.add(sub);
    if (!receipt) {
      receipt = {
        itemsDeleted: this.itemsHeld,
        bytesDeleted: this.itemsHeld * 1000,
        contentHash: `sha256:${call.body.subscriptionId}`,
        receiptId: `rcpt-${this.receipts.size + 1}`,
      };
      this.receipts.set(call.idempotencyKey, receipt);
      this.itemsHeld = 0;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(receipt));
  }

  private verify(call: HolderCall, res: ServerResponse): void {
    this.verifyCalls.push(call);
    if (!call.signatureValid || call.body.action !== 'verify')
      return void res.writeHead(401).end('{"error":"bad signature"}');
    const what = this.verifyBehaviour(call);
    if (what === 'fail') return void res.writeHead(500).end('{"error":"boom"}');
    if (what === 'not-found') return void res.writeHead(404).end('{"error":"no such route"}');
    const remainingItems = this.leftover.get(call.body.subscriptionId) ?? 0;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ remainingItems, receiptId: `verify-${this.verifyCalls.length}` }));
  }
}
