import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { fastifyAdapter } from '../../../apps/api/src/http/http-app.factory';
import { startApp, TOKENS } from '../../support/app-harness';

/**
 * The HTTP edge before any route runs, on real sockets against the adapter the app uses: every
 * refusal in the API's error shape (never Fastify's or Node's, never echoing the URL), JSON only,
 * and clients that send too slowly cut off (short timeouts here; the defaults are in http-edge.ts).
 */
describe('the HTTP edge', () => {
  let fastify: FastifyInstance;
  let port: number;
  let handled = 0;
  beforeAll(async () => {
    fastify = fastifyAdapter({
      requestTimeoutMs: 1500,
      headersTimeoutMs: 1000,
      keepAliveTimeoutMs: 1000,
      checkIntervalMs: 200,
    }).getInstance();
    fastify.post('/v1/things/:id', async (request) => {
      handled++;
      return { got: request.body };
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    port = (fastify.server.address() as { port: number }).port;
  });
  afterAll(() => fastify.close());

  /** Sends raw bytes (optionally in slow pieces) and resolves with what came back at close. */
  function raw(
    pieces: string | string[],
    gapMs = 0,
  ): Promise<{ status: number; body: unknown; text: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
        const bodyText = text.slice(text.indexOf('\r\n\r\n') + 4);
        let body: unknown = null;
        try {
          body = JSON.parse(bodyText);
        } catch {
          body = bodyText;
        }
        resolve({ status, body, text });
      });
      const list = Array.isArray(pieces) ? pieces : [pieces];
      let i = 0;
      const next = () => {
        if (socket.destroyed || i >= list.length) return;
        socket.write(list[i++]!);
        setTimeout(next, gapMs);
      };
      next();
    });
  }
  const request = (method: string, path: string, headers: string[], body = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const apiError = (code: string) => ({ error: { code, message: expect.any(String) as string } });

  it.each([
    ['a form', 'application/x-www-form-urlencoded', 'now=2027-01-01'],
    ['XML', 'application/xml', '<now>2027</now>'],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\n\r\na\r\n--x--'],
    ['text', 'text/plain', '{"a":1}'],
  ])(
    'a body sent as %s is 415 UNSUPPORTED_MEDIA_TYPE and reaches no route',
    async (_l, type, body) => {
      const before = handled;
      const res = await raw(request('POST', '/v1/things/a', [`Content-Type: ${type}`], body));
      expect(res.status).toBe(415);
      expect(res.body).toEqual(apiError('UNSUPPORTED_MEDIA_TYPE'));
      expect(handled).toBe(before);
    },
  );

  it('a body without a content type, or in a +json type, is 415; JSON with a charset is taken', async () => {
    expect((await raw(request('POST', '/v1/things/a', [], '{"a":1}'))).status).toBe(415);
    const plus = ['Content-Type: application/merge-patch+json'];
    expect((await raw(request('POST', '/v1/things/a', plus, '{"a":1}'))).status).toBe(415);
    const json = ['Content-Type: application/json; charset=utf-8'];
    expect((await raw(request('POST', '/v1/things/a', json, '{"a":1}'))).status).toBe(200);
  });

  it('an overlong path parameter is 414 URI_TOO_LONG, without the URL echoed', async () => {
    const long = 'a'.repeat(300);
    const res = await raw(
      request('POST', `/v1/things/${long}`, ['Content-Type: application/json'], '{}'),
    );
    expect(res.status).toBe(414);
    expect(res.body).toEqual(apiError('URI_TOO_LONG'));
    expect(res.text).not.toContain(long);
  });

  it('malformed percent-encoding is 400 VALIDATION_FAILED, without the URL echoed', async () => {
    const res = await raw(
      request('POST', '/v1/things/%E0%A4%A', ['Content-Type: application/json'], '{}'),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual(apiError('VALIDATION_FAILED'));
    expect(res.text).not.toContain('%E0');
  });

  it('oversized headers are 431 HEADERS_TOO_LARGE', async () => {
    const res = await raw(request('POST', '/v1/things/a', [`X-Big: ${'a'.repeat(20_000)}`], ''));
    expect(res.status).toBe(431);
    expect(res.body).toEqual(apiError('HEADERS_TOO_LARGE'));
  });

  it('malformed HTTP and a missing Host are 400 VALIDATION_FAILED in the API shape', async () => {
    const garbage = await raw('GARBAGE\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(garbage.body).toEqual(apiError('VALIDATION_FAILED'));
    const noHost = await raw('POST /v1/things/a HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
    expect(noHost.status).toBe(400);
    expect(noHost.body).toEqual(apiError('VALIDATION_FAILED'));
  });

  it('a client sending its headers a byte at a time is cut off (408 REQUEST_TIMEOUT) instead of holding the connection', async () => {
    const head = 'POST /v1/things/a HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'a'.repeat(60);
    const started = Date.now();
    const res = await raw([...head], 100);
    expect(res.status).toBe(408);
    expect(res.body).toEqual(apiError('REQUEST_TIMEOUT'));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a client sending its body a byte at a time is cut off too', async () => {
    const body = '{"a":"' + 'x'.repeat(60) + '"}';
    const head = `POST /v1/things/a HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const started = Date.now();
    const res = await raw([head, ...body], 100);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.status).toBe(408);
  });
});

/** The same edge in the whole app: what a client that goes away leaves in the JSON log. */
describe('a client aborting mid-body, against the whole app', () => {
  it('is one info-level line in the JSON log, no error and no stack, and the app answers the next request', async () => {
    const t = await startApp({ logLevel: 'info' });
    try {
      await t.app.listen(0, '127.0.0.1');
      const { port } = t.app.getHttpServer().address() as { port: number };
      for (let i = 0; i < 5; i++)
        await new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(
              'POST /v1/subscriptions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n' +
                `Authorization: Bearer ${TOKENS.writer}\r\nContent-Length: 1000\r\n\r\n{"accountId":`,
            );
            setTimeout(() => socket.destroy(), 100);
          });
          socket.on('close', () => resolve());
          socket.on('error', () => undefined);
        });
      const health = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(health.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      const records = t.log.records();
      expect(records.filter((r) => r['level'] === 'error' || r['level'] === 'fatal')).toEqual([]);
      const aborted = records.filter(
        (r) => r['msg'] === 'client closed the connection before its request arrived',
      );
      expect(aborted).toHaveLength(5);
      expect(aborted.every((r) => r['level'] === 'info')).toBe(true);
      expect(t.log.raw()).not.toMatch(/at abortIncoming|\n\s+at /);
    } finally {
      await t.close();
    }
  });
});
