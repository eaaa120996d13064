import { connect } from 'node:net';
import { CLOSING_BODY, fastifyAdapter } from '../../../apps/api/src/http/http-app.factory';

/**
 * While the api closes (app.close(), after SHUTDOWN_DRAIN_MS), a request that still arrives on a
 * kept-alive connection is answered 503 in the API's error shape (not in Fastify's own), with
 * `Connection: close`; the request in flight finishes. Real sockets on the adapter the app uses.
 */
describe('requests arriving while the server closes', () => {
  it('a request in flight finishes; the next one on the same connection gets 503 SERVICE_UNAVAILABLE in the API error shape', async () => {
    const fastify = fastifyAdapter().getInstance();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let slowStarted!: () => void;
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    fastify.get('/slow', async () => {
      slowStarted();
      await released;
      return { ok: 'slow' };
    });
    fastify.get('/fast', async () => ({ ok: 'fast' }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as { port: number };

    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => (raw += d.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /slow HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n');
    await started;
    const closed = fastify.close();
    // Sent while /slow is in flight and the server is closing (pipelined on the kept connection).
    socket.write('GET /fast HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    release();
    await ended;
    await closed;

    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[0]).toContain('{"ok":"slow"}');
    expect(responses).toHaveLength(2);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(responses[1]?.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(responses[1]!.slice(responses[1]!.indexOf('\r\n\r\n') + 4))).toEqual(
      CLOSING_BODY,
    );
  });
});
