import { Injectable } from '@nestjs/common';
import { type Command, CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { CommandContext } from '@app/command-handling';
import type { Actor, Channel } from '@app/domain';
import { RequestFingerprinter } from '@app/infrastructure';
import type { Caller } from './auth';
import { idSchema } from './common-schemas';
import { commandContext } from './request-context';
import { parseInput } from './zod-validation';

/** What one command route makes of its request (the parts that differ between use cases). */
export interface CommandRoute<Dto extends z.ZodType, Result> {
  /** The use case's request DTO (zod): a body it rejects is 400 VALIDATION_FAILED. */
  readonly dto: Dto;
  /**
   * What an Idempotency-Key is bound to besides the body, e.g. `cancel:<id>`: the same key with
   * another route or body is 422 IDEMPOTENCY_KEY_REUSED. Part of every stored fingerprint: never
   * change one.
   */
  readonly route: string;
  /** Who the events name: the actor and the channel the request came through. */
  readonly who: (body: z.infer<Dto>) => { actor: Actor | null; channel: Channel | null };
  /** The use case's command, for the CommandBus. */
  readonly command: (body: z.infer<Dto>, context: CommandContext) => Command<Result>;
}

/**
 * The command routes' one helper: parse, context, run. A controller validates its path id with
 * `id()` and hands its body to `execute()`, which parses it with the use case's DTO, builds the
 * command context (idempotency key scoped by the caller, request fingerprint, correlation id,
 * actor, channel) and executes the use case's command through the CommandBus; its handler runs
 * it with CommandRunner. Errors travel as they are to ApiExceptionFilter.
 */
@Injectable()
export class CommandEndpoint {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  /** A path id (`:id`, `:accountId`); malformed: 400 VALIDATION_FAILED in `params`. */
  id(raw: string): string {
    return parseInput(idSchema, raw, 'params');
  }

  async execute<Dto extends z.ZodType, Result>(
    request: FastifyRequest,
    caller: Caller,
    rawBody: unknown,
    route: CommandRoute<Dto, Result>,
  ): Promise<Result> {
    const body = parseInput(route.dto, rawBody, 'body');
    const context = commandContext(
      request,
      caller,
      this.fingerprinter,
      route.route,
      body,
      route.who(body),
    );
    return this.commandBus.execute(route.command(body, context));
  }
}
