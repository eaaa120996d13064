import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { redactSensitive } from './redact';

export interface CreateLoggerOptions {
  /** Shown as `name` on every line, e.g. 'api', 'worker'. */
  name?: string;
  /** Default: stdout. Tests pass a stream to read what was written. */
  destination?: DestinationStream;
}

/**
 * The one pino logger factory, so every process redacts the same fields. JSON lines with ISO
 * timestamps and level names; pretty printing is left to `pino-pretty` in a pipe.
 *
 * Everything but the message string is redacted: the logged object, errors in it, and
 * child-logger bindings. Never interpolate personal data into the message itself.
 */
export function createLogger(
  config: Pick<AppConfig, 'logLevel'>,
  options: CreateLoggerOptions = {},
): Logger {
  const logger = pino(
    {
      level: config.logLevel,
      ...(options.name !== undefined ? { name: options.name } : {}),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSensitive(object),
      },
      // formatters.log runs before serializers and already turned errors into redacted data;
      // this catches an Error passed where pino applies the serializer directly.
      serializers: { err: (error: Error) => redactSensitive(error) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino applies no formatter to child bindings, so redact them on the way in. Children are
  // created with Object.create(parent), so grandchildren inherit this override.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, redactSensitive(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
