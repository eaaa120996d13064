import { parentPort, workerData } from 'node:worker_threads';
import type { BulkJob, BulkMessage } from './bulk-thread';
import { foldPartition } from './read-model-bulk-fold';
import { loadUpcasters } from './upcaster-module';

/**
 * A thread of the replay's bulk build: folds the partition it is given and posts its progress,
 * then its result or its error, to the thread that started it.
 */
const job = workerData as BulkJob;
const post = (message: BulkMessage): void => parentPort!.postMessage(message);
const onPage = (events: number, position: number) => post({ events, position });

async function run(): Promise<unknown> {
  return foldPartition(job.options, {
    upcast: job.upcasters ? loadUpcasters(job.upcasters) : undefined,
    onPage,
  });
}

run().then(
  (result) => post({ result }),
  (error: Error) =>
    post({ error: { name: error.name, message: error.message, stack: error.stack } }),
);
