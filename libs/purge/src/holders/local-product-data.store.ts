import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { HolderReceipt, HolderVerification } from '@app/domain';
import type { ProductDataHolder, PurgeRequest } from './product-data-holder.port';

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** D11: planted in every subscription's folder at registration; verification looks for it. */
const MARKER = '.marker';

/**
 * Product data this service keeps itself in the embedded mode: per subscription, a folder under
 * DATA_DIR/product-data with meeting history, recording metadata and settings (sample data made
 * at registration, so that a purge has real bytes to delete and tests can look for them).
 *
 * Purging writes the receipt first (counts and hashes only), then overwrites every file with
 * zeros, fsyncs, and unlinks it: a crash between the two leaves the receipt, so the retry answers
 * the same counts instead of "nothing found".
 *
 * D11: `seed` plants a marker (a random token, no personal data) beside the data; `verify` looks
 * for it and scans the subscription's folders (the live one and a half-made one) for any file
 * left, and counts what it finds.
 */
export class LocalProductDataStore implements ProductDataHolder {
  readonly name = 'local';
  private readonly root: string;
  private readonly receipts: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'product-data');
    this.receipts = join(this.root, '.receipts');
    mkdirSync(this.receipts, { recursive: true });
  }

  folderOf(subscriptionId: string): string {
    if (!SAFE_ID.test(subscriptionId))
      throw new Error(`unsafe subscription id ${JSON.stringify(subscriptionId)}`);
    return join(this.root, subscriptionId);
  }

  /** Sample product data for a new subscription; does nothing if it already has some. */
  seed(
    subscriptionId: string,
    accountId: string,
    productId: string,
    seedText = subscriptionId,
  ): number {
    const folder = this.folderOf(subscriptionId);
    if (existsSync(folder)) return 0;
    const tmp = `${folder}.seeding`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const meetings = Array.from({ length: 5 }, (_, i) => ({
      meetingId: `mtg-${seedText}-${i}`,
      title: `Weekly sync ${i + 1} of ${seedText}`,
      organizer: `organizer.${seedText}@example.com`,
      participants: [`alice.${seedText}@example.com`, `bob.${seedText}@example.com`],
      durationMinutes: 30 + i * 5,
    }));
    writeFileSync(
      join(tmp, 'meeting-history.jsonl'),
      meetings.map((m) => JSON.stringify(m)).join('\n') + '\n',
    );
    writeFileSync(
      join(tmp, 'recordings-metadata.json'),
      JSON.stringify({
        recordings: meetings.slice(0, 3).map((m) => ({
          meetingId: m.meetingId,
          file: `rec-${m.meetingId}.mp4`,
          sizeBytes: 1_048_576,
        })),
      }),
    );
    writeFileSync(
      join(tmp, 'settings.json'),
      JSON.stringify({ accountId, productId, locale: 'it-IT', defaultRoom: `room-${seedText}` }),
    );
    writeFileSync(join(tmp, MARKER), randomBytes(16).toString('hex'));
    renameSync(tmp, folder);
    return 1;
  }

  /** Items held for a subscription (lines of history + recordings + 1 settings file). */
  inventory(subscriptionId: string): {
    files: string[];
    items: number;
    bytes: number;
    contentHash: string;
  } {
    const folder = this.folderOf(subscriptionId);
    if (!existsSync(folder)) return { files: [], items: 0, bytes: 0, contentHash: sha256([]) };
    const files = readdirSync(folder)
      .filter((f) => f !== MARKER)
      .sort();
    const contents = files.map((f) => readFileSync(join(folder, f)));
    let items = 0;
    files.forEach((f, i) => {
      const text = contents[i]!.toString('utf8');
      if (f.endsWith('.jsonl')) items += text.split('\n').filter((l) => l.trim() !== '').length;
      else if (f === 'recordings-metadata.json')
        items += (JSON.parse(text) as { recordings: unknown[] }).recordings.length;
      else items += 1;
    });
    return {
      files,
      items,
      bytes: contents.reduce((n, c) => n + c.length, 0),
      contentHash: sha256(contents),
    };
  }

  async purge(request: PurgeRequest): Promise<HolderReceipt> {
    const receiptFile = join(
      this.receipts,
      `${request.idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '_')}.json`,
    );
    if (existsSync(receiptFile)) {
      const earlier = JSON.parse(readFileSync(receiptFile, 'utf8')) as HolderReceipt;
      this.shred(request.subscriptionId); // finish a deletion a crash interrupted
      return earlier;
    }
    const inv = this.inventory(request.subscriptionId);
    const receipt: HolderReceipt = {
      holder: this.name,
      itemsDeleted: inv.items,
      bytesDeleted: inv.bytes,
      contentHash: inv.contentHash,
      location: `local:product-data/${request.subscriptionId}`,
      externalReceiptId: null,
    };
    writeDurably(receiptFile, JSON.stringify(receipt));
    this.shred(request.subscriptionId);
    return Promise.resolve(receipt);
  }

  async verify(request: PurgeRequest): Promise<HolderVerification> {
    const folder = this.folderOf(request.subscriptionId);
    // Every file of the subscription's folders (a half-made one too) is an item left, the marker
    // among them: where the marker is still found, the deletion missed this subscription's data.
    // A folder left empty, or a file where a folder should be, counts as one item.
    let remainingItems = 0;
    for (const dir of [folder, `${folder}.seeding`]) {
      if (!existsSync(dir)) continue;
      remainingItems += statSync(dir).isDirectory() ? Math.max(1, readdirSync(dir).length) : 1;
    }
    return Promise.resolve({
      holder: this.name,
      remainingItems,
      method: 'marker_scan',
      externalReceiptId: null,
    });
  }

  private shred(subscriptionId: string): void {
    const folder = this.folderOf(subscriptionId);
    for (const dir of [folder, `${folder}.seeding`]) {
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const file = join(dir, f);
        const size = statSync(file).size;
        // Overwrite before unlinking: the bytes leave the file's blocks, not just the directory.
        const fd = openSync(file, 'r+');
        try {
          writeSync(fd, Buffer.alloc(size), 0, size, 0);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function sha256(parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}

function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
