'use strict';
// Preloaded (after clock-offset.js) into the worker processes of bench:purge's second phase only:
// the same purges without D11's proof, to measure what the proof costs. Nothing of this is in the
// product, which has no way to run a purge without its proof.
// - The HTTP holder's verify step answers "nothing remains" without asking the holder (no signed
//   POST <url>/verify). The purge process still records VerifyPurge (PurgeVerified), because the
//   domain completes no purge without it: that one append per purge stays in this phase.
// - The read-model projection runs without its receipt signer: receipts are projected, not linked
//   into the chain nor signed (sequence stays null).
// Both patches check that what they replace is there, so that a rename fails the bench loudly
// instead of measuring the proof twice; the bench also checks the holder got no verify request and
// no receipt was linked in this phase.
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
// The very files the app loads (the same module instances: one require cache).
const { HttpProductDataHolder } = require(
  join(root, 'libs/purge/src/holders/http-product-data-holder.ts'),
);
const { ReadModelProjection } = require(
  join(root, 'libs/read-models/src/projection/read-model-projection.ts'),
);

if (typeof HttpProductDataHolder?.prototype.verify !== 'function')
  throw new Error('purge-without-proof: HttpProductDataHolder.prototype.verify is gone');
if (typeof ReadModelProjection?.prototype.apply !== 'function')
  throw new Error('purge-without-proof: ReadModelProjection.prototype.apply is gone');

HttpProductDataHolder.prototype.verify = async function verifyWithoutAsking() {
  return { holder: this.name, remainingItems: 0, method: 'http', externalReceiptId: null };
};

const apply = ReadModelProjection.prototype.apply;
ReadModelProjection.prototype.apply = function applyWithoutSigner(...args) {
  if (!('signer' in this)) throw new Error('purge-without-proof: the projection has no signer');
  this.signer = null;
  return apply.apply(this, args);
};
