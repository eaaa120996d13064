import { Controller, Get, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { EventStore } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import {
  READ_MODELS_SETTINGS,
  ReadModelProjector,
  type ReadModelsSettings,
  ReadStore,
  ReceiptKeyring,
  type SignedEndOfLifeCertificate,
} from '@app/read-models';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import { renderCertificateHtml } from './end-of-life-certificate.html';
import { endOfLifeCertificate, prefersHtml } from './end-of-life-certificate.query';

/** The route takes no query parameters: a misspelt one is a 400, not silently ignored. */
const noQuery = z.object({}).strict();

/** The page holds no script and loads nothing: its CSP says so to the browser as well. */
const HTML_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/**
 * D11: a subscription's end of life in one signed document (docs/end-of-life-certificate.md):
 * who ended it, when, through which channel, the notice decision, the expiry, the legal holds
 * that deferred the purge, each data holder's purge receipt, the keys destroyed, the
 * verification, and the purge receipt's place in the signed chain. JSON by default; with
 * `Accept: text/html`, a printable page of the same facts for the customer.
 */
@ApiTags('audit')
@Controller('v1/subscriptions/:id/end-of-life-certificate')
export class EndOfLifeCertificateController {
  constructor(
    @Inject(EVENT_STORE) private readonly log: EventStore,
    private readonly store: ReadStore,
    private readonly projector: ReadModelProjector,
    private readonly keyring: ReceiptKeyring,
    @Inject(READ_MODELS_SETTINGS) private readonly settings: ReadModelsSettings,
  ) {}

  @Get()
  @RequireScope('audit:read')
  @ApiOperation({
    operationId: 'getEndOfLifeCertificate',
    summary:
      "A purged subscription's end-of-life certificate (D11): signed JSON, or a printable page",
    description:
      "The subscription's end of life from the log, in one document signed like the purge receipts: `signature.value` is the base64 Ed25519 signature of the UTF-8 bytes of the RFC 8785 canonical JSON of the document without `signature`, by the key `signature.kid` names (GET /v1/audit/receipt-keys). It holds no personal data, and the same log gives the same bytes (it covers the log up to the purge's completion, `upToPosition`). With `Accept: text/html` (preferred over JSON) the answer is a self-contained printable HTML page of the same facts, with the signature and how to check it; the signature covers the JSON only. 409 `INVALID_STATE` until the purge has completed; 503 `READ_MODEL_BEHIND` (Retry-After: 1) while the purge receipt is not yet linked into the signed chain. docs/end-of-life-certificate.md has the fields and how to verify.",
  })
  @ApiOkResponse({
    description: 'The signed certificate (JSON), or the printable page (HTML)',
    content: {
      'application/json': { schema: RESPONSES.endOfLifeCertificate },
      'text/html': {
        schema: {
          type: 'string',
          description: 'One self-contained HTML page (inline CSS, no script), UTF-8',
        },
      },
    },
  })
  @ApiProduces('application/json', 'text/html')
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: "the purge has not completed yet (`details.status`: the subscription's status)",
    READ_MODEL_BEHIND:
      'the purge receipt is not yet linked into the signed receipt chain (Retry-After: 1; normally milliseconds after the purge)',
  })
  async get(
    @Param('id') rawId: string,
    @Headers('accept') accept: string | undefined,
    @Query() rawQuery: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SignedEndOfLifeCertificate | string> {
    const id = parseInput(idSchema, rawId, 'params');
    parseInput(noQuery, rawQuery, 'query');
    void reply.header('vary', 'Accept');
    const certificate = await endOfLifeCertificate(
      {
        log: this.log,
        store: this.store,
        projector: this.projector,
        signer: this.keyring.signer,
        maxWaitMs: this.settings.maxWaitMs,
      },
      id,
      reply,
    );
    if (!prefersHtml(accept)) return certificate;
    void reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', HTML_POLICY)
      .header('x-content-type-options', 'nosniff');
    return renderCertificateHtml(certificate, {
      jsonPath: `/v1/subscriptions/${id}/end-of-life-certificate`,
    });
  }
}
