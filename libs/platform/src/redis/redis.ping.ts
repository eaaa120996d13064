import { createConnection } from 'node:net';

export interface ProbeResult {
  /** First line of the PING reply: "+PONG", "-LOADING ...", "-NOAUTH ...". */
  reply: string;
  /** process_id from INFO server, when the server let us run INFO. */
  pid: number | undefined;
}

/**
 * Sends PING and INFO server, pipelined, over a raw socket. A raw socket, not ioredis: ioredis
 * would retry and log on its own while we want one quick answer per attempt. INFO tells us
 * *which* process answered: with a port already taken, the PONG would come from the squatter
 * while our own redis-server is busy failing to bind.
 */
export function probeOnce(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let buffer = '';
    let settled = false;
    const finish = (error: Error | null, result?: ProbeResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(result ?? { reply: '', pid: undefined });
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => finish(error));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const parsed = parseReplies(buffer);
      if (parsed) finish(null, parsed);
    });
    socket.once('end', () => finish(new Error('connection closed before a reply')));
  });
}

/** Undefined until both replies are complete. INFO's reply is ASCII, so latin1 lengths match bytes. */
function parseReplies(buffer: string): ProbeResult | undefined {
  const firstEnd = buffer.indexOf('\r\n');
  if (firstEnd < 0) return undefined;
  const reply = buffer.slice(0, firstEnd);
  const rest = buffer.slice(firstEnd + 2);
  const headerEnd = rest.indexOf('\r\n');
  if (headerEnd < 0) return undefined;
  const header = rest.slice(0, headerEnd);
  // INFO refused (renamed, ACL, NOAUTH): the PING reply is all we get.
  if (!header.startsWith('$')) return { reply, pid: undefined };
  const length = Number(header.slice(1));
  const body = rest.slice(headerEnd + 2);
  if (body.length < length) return undefined;
  const match = /^process_id:(\d+)/m.exec(body.slice(0, length));
  return { reply, pid: match?.[1] !== undefined ? Number(match[1]) : undefined };
}

/** The server is up and serving commands (an auth challenge still proves it is listening). */
export function isReadyReply(line: string): boolean {
  return line === '+PONG' || line.startsWith('-NOAUTH');
}
