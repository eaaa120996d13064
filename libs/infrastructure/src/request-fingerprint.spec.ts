import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmpDir, removeTmpDir } from '../../../test/support/tmp-dir';
import { canonicalJson, RequestFingerprinter } from './request-fingerprint';

describe('RequestFingerprinter (idempotency fingerprints, D-rules on Idempotency-Key)', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = makeTmpDir('fingerprint-');
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach(removeTmpDir));

  const body = { reason: 'too_expensive', paymentLast4: '4242' };

  it('replicas with the same REQUEST_HASH_KEY fingerprint a request alike, whatever their DATA_DIR', () => {
    const key = Buffer.alloc(32, 9);
    const a = RequestFingerprinter.fromConfig({ dataDir: dir(), requestHashKey: key });
    const b = RequestFingerprinter.fromConfig({ dataDir: dir(), requestHashKey: key });
    expect(a.fingerprint('cancel', body)).toBe(b.fingerprint('cancel', body));
    const other = RequestFingerprinter.fromConfig({
      dataDir: dir(),
      requestHashKey: Buffer.alloc(32, 8),
    });
    expect(other.fingerprint('cancel', body)).not.toBe(a.fingerprint('cancel', body));
  });

  it('without a key, creates one secret per DATA_DIR (owner-only file) and keeps it across restarts', () => {
    const dataDir = dir();
    const first = RequestFingerprinter.fromConfig({ dataDir, requestHashKey: undefined });
    const file = join(dataDir, 'secrets', 'request-hash.key');
    expect(readFileSync(file)).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = RequestFingerprinter.fromConfig({ dataDir, requestHashKey: undefined });
    expect(again.fingerprint('cancel', body)).toBe(first.fingerprint('cancel', body));
  });

  it('ignores key order and undefined fields, but not the route or a changed value', () => {
    const f = RequestFingerprinter.fromConfig({ dataDir: dir(), requestHashKey: Buffer.alloc(32) });
    expect(f.fingerprint('cancel', { b: 1, a: [1, { d: 2, c: undefined }] })).toBe(
      f.fingerprint('cancel', { a: [1, { d: 2 }], b: 1 }),
    );
    expect(f.fingerprint('withdraw', body)).not.toBe(f.fingerprint('cancel', body));
    expect(f.fingerprint('cancel', { ...body, paymentLast4: '4243' })).not.toBe(
      f.fingerprint('cancel', body),
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('never contains the body (personal data stays out of event metadata)', () => {
    const f = RequestFingerprinter.fromConfig({ dataDir: dir(), requestHashKey: Buffer.alloc(32) });
    expect(f.fingerprint('cancel', body)).not.toContain('4242');
    expect(f.fingerprint('cancel', body)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
