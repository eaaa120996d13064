import { ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const register = join(root, 'test', 'support', 'swc-register.js');
const script = join(__dirname, 'fixtures', 'append-writer.ts');

export interface Ack {
  stream: string;
  revision: number;
  position: bigint;
  eventId: string;
}

/** A fixtures/append-writer.ts child process, with its acknowledged appends parsed as they come. */
export class ChildWriter {
  readonly acks: Ack[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<void>;
  stderr = '';
  private readonly child: ChildProcess;
  private buffer = '';
  private done = false;

  constructor(
    dbPath: string,
    writerId: string,
    count: number | 'forever',
    loops: number,
    sharedEvery = 0,
  ) {
    this.child = spawn(
      process.execPath,
      ['-r', register, script, dbPath, writerId, String(count), String(loops), String(sharedEvery)],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let onReady!: () => void;
    this.ready = new Promise((r) => (onReady = r));
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        // Only complete lines count: a line cut by the kill was never fully acknowledged.
        if (line === 'READY') onReady();
        else if (line === 'DONE') this.done = true;
        else if (line.startsWith('ACK ')) {
          const [, stream, revision, position, eventId] = line.split(' ');
          this.acks.push({
            stream: stream!,
            revision: Number(revision),
            position: BigInt(position!),
            eventId: eventId!,
          });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
  }

  go(): void {
    this.child.stdin!.write('GO\n');
  }

  get finished(): boolean {
    return this.done;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
