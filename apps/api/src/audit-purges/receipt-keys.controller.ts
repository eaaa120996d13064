import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReceiptKeyring, type ReceiptKeyView } from '@app/read-models';
import { RequireScope } from '../http/auth';
import { RESPONSES } from '../read-side/response-schemas';

/**
 * D11: the public keys that check the purge receipts' signatures: the key signing now
 * (RECEIPT_SIGNING_KEY, or the one the service made), then older keys (RECEIPT_VERIFY_KEYS)
 * kept so that receipts and exports signed before a rotation still check.
 */
@ApiTags('audit')
@Controller('v1/audit/receipt-keys')
export class ReceiptKeysController {
  constructor(private readonly keyring: ReceiptKeyring) {}

  @Get()
  @RequireScope('audit:read')
  @ApiOperation({
    operationId: 'listReceiptKeys',
    summary: 'Public keys of the purge receipts (D11): the signing key first, then older ones',
    description:
      "`kid` is the first 16 hex digits of the SHA-256 of the key's SPKI DER; a receipt's `signature.kid` names the key that signed it. `createdAt` is known for a key the service made itself, null for keys given in the environment. docs/receipts.md shows how to check a receipt with one.",
  })
  @ApiOkResponse({ description: 'The receipt keys', schema: RESPONSES.receiptKeys })
  list(): { keys: ReceiptKeyView[] } {
    return { keys: this.keyring.keys() };
  }
}
