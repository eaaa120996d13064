import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';

/** Whether the client asked for NDJSON: `?format=` decides, else the Accept header. */
export function wantsNdjson(
  format: 'json' | 'ndjson' | undefined,
  accept: string | undefined,
): boolean {
  if (format !== undefined) return format === 'ndjson';
  return typeof accept === 'string' && /application\/x-ndjson/i.test(accept);
}

/**
 * An NDJSON export: `X-Export-Up-To` names the snapshot of its end, and the body streams `lines`
 * (chunks of whole lines, a page at a time): nothing is buffered beyond the chunk in hand, and
 * the next one is read only when the socket has taken the previous one (backpressure). A failure
 * after the first byte cannot change the status code any more, so it ends the stream with one
 * `{"error":…}` line.
 */
export function ndjsonAnswer(
  reply: FastifyReply,
  upTo: bigint | null,
  lines: AsyncIterable<string>,
  what: string,
  logger: Logger,
): StreamableFile {
  void reply.header('x-export-up-to', upTo?.toString() ?? '0');
  async function* guarded(): AsyncGenerator<string> {
    try {
      yield* lines;
    } catch (err) {
      logger.error({ err }, `${what} failed after the response started`);
      yield `${JSON.stringify({ error: { code: 'INTERNAL', message: 'The export failed; it has been logged.' } })}\n`;
    }
  }
  return new StreamableFile(Readable.from(guarded(), { objectMode: true, highWaterMark: 1 }), {
    type: 'application/x-ndjson; charset=utf-8',
  });
}
