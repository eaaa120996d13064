import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAIN_HEAD_TYPE, keysByKid, verifyReceiptExport } from './receipt-export-verifier';
import { receiptKeyFile } from './receipt-keyring';
import {
  canonicalBytes,
  documentHash,
  GENESIS_HASH,
  keyId,
  ReceiptSigner,
  verifySignature,
} from './receipt-signature';

const signer = new ReceiptSigner(generateKeyPairSync('ed25519').privateKey);
const keys = keysByKid([signer.publicKey]);

/** A chain of `n` signed receipts and its signed head, as NDJSON lines. */
function chain(n: number, by = signer): string[] {
  const lines: string[] = [];
  let previousHash = GENESIS_HASH;
  for (let sequence = 1; sequence <= n; sequence++) {
    const doc = { receiptId: `r${sequence}`, sequence, previousHash, itemsDeleted: sequence };
    const signed = { ...doc, signature: by.sign(doc) };
    previousHash = documentHash(signed);
    lines.push(JSON.stringify(signed));
  }
  const head = { type: CHAIN_HEAD_TYPE, count: n, lastHash: previousHash, position: '99' };
  lines.push(JSON.stringify({ ...head, signature: by.sign(head) }));
  return lines;
}
const text = (lines: string[]) => `${lines.join('\n')}\n`;

describe('D11: receipt signatures', () => {
  it('D11: signs the RFC 8785 canonical JSON without the signature field, deterministically', () => {
    expect(canonicalBytes({ b: 1, a: [1.5, 'é', { d: null, c: 1e21 }] }).toString('utf8')).toBe(
      '{"a":[1.5,"é",{"c":1e+21,"d":null}],"b":1}',
    );
    const doc = { z: 1, a: 'x' };
    const one = signer.sign(doc);
    expect(signer.sign({ a: 'x', z: 1 })).toEqual(one); // key order does not matter; Ed25519 is deterministic
    expect(one).toMatchObject({ alg: 'Ed25519', kid: keyId(signer.publicKey) });
    expect(one.kid).toMatch(/^[0-9a-f]{16}$/);
    expect(verifySignature({ ...doc, signature: one }, signer.publicKey)).toBe(true);
    expect(verifySignature({ ...doc, z: 2, signature: one }, signer.publicKey)).toBe(false);
  });
});

describe('D11: the export verifier (pure core of ops verify-receipts)', () => {
  it('D11: accepts an intact chain with its signed head, and an empty one', () => {
    expect(verifyReceiptExport(text(chain(5)), keys)).toMatchObject({ ok: true, receipts: 5 });
    expect(verifyReceiptExport(text(chain(0)), keys)).toMatchObject({ ok: true, receipts: 0 });
  });

  it('D11: names the first bad line: forged, altered, missing, reordered, truncated', () => {
    const other = new ReceiptSigner(generateKeyPairSync('ed25519').privateKey);
    const forged = chain(4);
    forged[2] = chain(4, other)[2]!;
    expect(verifyReceiptExport(text(forged), keys)).toMatchObject({
      ok: false,
      line: 3,
      receiptId: 'r3',
      problem: 'forged',
    });

    const altered = chain(4);
    altered[1] = altered[1]!.replace('"itemsDeleted":2', '"itemsDeleted":0');
    expect(verifyReceiptExport(text(altered), keys)).toMatchObject({
      line: 2,
      receiptId: 'r2',
      problem: 'altered',
    });

    const dropped = chain(4);
    dropped.splice(1, 1);
    expect(verifyReceiptExport(text(dropped), keys)).toMatchObject({
      line: 2,
      receiptId: 'r3',
      problem: 'missing',
    });

    const swapped = chain(4);
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    expect(verifyReceiptExport(text(swapped), keys)).toMatchObject({
      line: 2,
      receiptId: 'r3',
      problem: 'reordered',
    });

    const cut = chain(4).slice(0, 3);
    expect(verifyReceiptExport(text(cut), keys)).toMatchObject({ line: 4, problem: 'truncated' });

    const lastRemovedHeadKept = chain(4);
    lastRemovedHeadKept.splice(3, 1);
    expect(verifyReceiptExport(text(lastRemovedHeadKept), keys)).toMatchObject({
      line: 4,
      problem: 'truncated',
    });
  });

  it('D11: another document signed with the same key (an end-of-life certificate) is no receipt: malformed', () => {
    const certificate = { type: 'EndOfLifeCertificate', subscriptionId: 's1' };
    const lines = [JSON.stringify({ ...certificate, signature: signer.sign(certificate) })];
    expect(verifyReceiptExport(text(lines), keys)).toMatchObject({
      ok: false,
      line: 1,
      problem: 'malformed',
      message: expect.stringMatching(/not a purge receipt/),
    });
  });
});

describe('D11: the signing key made under DATA_DIR/secrets', () => {
  it('D11: is made once (0600), never replaced, and read alike by every caller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'receipt-key-'));
    try {
      const secrets = join(dir, 'secrets');
      const first = receiptKeyFile(secrets);
      const again = receiptKeyFile(secrets);
      expect(keyId(new ReceiptSigner(again.key).publicKey)).toBe(
        keyId(new ReceiptSigner(first.key).publicKey),
      );
      const file = join(secrets, 'receipt-signing-key.pem');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
