import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { Inject, Injectable, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '@app/infrastructure';
import type { AppConfig } from '@app/platform';
import { LIFECYCLE_JOB_KINDS, LifecycleService } from '@app/scheduling';

export const QUEUE_DASHBOARD_PATH = '/ops/queues';

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Bull Board (the lifecycle queues: term ends and purges) under /ops/queues, behind the ops scope,
 * read-only: it shows jobs, it cannot promote, retry, clean or obliterate them.
 * It is a Fastify plugin, outside Nest's router, so Nest guards do not reach it: an onRequest hook
 * in the plugin's scope checks the bearer token the same way (constant-time digests, ops scope)
 * and answers 401/403 in the API's error shape. Without a lifecycle in this process (tests, an
 * api without Redis) the board shows no queues.
 */
@Injectable()
export class QueueDashboard implements OnApplicationBootstrap {
  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly lifecycle?: LifecycleService,
  ) {}

  onApplicationBootstrap(): void {
    const fastify = this.host.httpAdapter?.getInstance?.<FastifyInstance | undefined>();
    if (!fastify || typeof fastify.register !== 'function') return;
    const serverAdapter = new BullBoardFastifyAdapter();
    serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
    const queues = this.lifecycle ? this.lifecycleQueues() : [];
    createBullBoard({
      // Read-only (its write API answers 405): jobs are derived from the log, and an operator's
      // retry, promotion or removal goes through the audited ops routes and CLI instead.
      queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Subscription lifecycle' } },
    });
    const grants = this.config.authTokens.map((g) => ({ digest: digest(g.token), grant: g }));
    void fastify.register(
      (instance, _opts, done) => {
        instance.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next) => {
          const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
          let found: (typeof grants)[number]['grant'] | null = null;
          if (match) {
            const presented = digest(match[1]!);
            for (const g of grants)
              if (timingSafeEqual(g.digest, presented) && found === null) found = g.grant;
          }
          if (!found) {
            void reply.code(401).send({
              error: { code: 'UNAUTHENTICATED', message: 'Missing or unknown bearer token.' },
            });
            return;
          }
          if (!found.scopes.includes('ops')) {
            void reply.code(403).send({
              error: {
                code: 'FORBIDDEN_SCOPE',
                message: 'This route needs the scope ops.',
                details: { requiredScope: 'ops' },
              },
            });
            return;
          }
          next();
        });
        void instance.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
        done();
      },
      { prefix: '' },
    );
  }

  private lifecycleQueues() {
    try {
      const queues = this.lifecycle!.lifecycle.queues;
      return queues ? LIFECYCLE_JOB_KINDS.map((k) => queues.queue(k)) : [];
    } catch {
      return [];
    }
  }
}
