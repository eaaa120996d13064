import { createServer } from 'node:net';

/**
 * Asks the OS for a port that is free right now by listening on port 0 and closing again.
 * Another process may take it before redis-server binds it; the launcher retries on that.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('The OS returned no port'))));
    });
  });
}
