'use strict';
// Preloaded (after test/support/swc-register.js) into the worker processes of bench:month-end and
// bench:purge (spawnShapeWorker in production-shape.ts): the worker's system clock reads real time
// shifted by BENCH_CLOCK_OFFSET_MS, so that BullMQ's real delays fire the jobs while the due
// instant is a fixed one. Nothing else changes.
const { SystemClock } = require('@app/platform');
const { DateTime } = require('luxon');

const offset = Number(process.env.BENCH_CLOCK_OFFSET_MS ?? 0);
// fromMillis costs what DateTime.utc() costs (plus() in luxon would cost several times more and
// show up in the profile as work the real service does not do).
SystemClock.prototype.now = function shiftedNow() {
  return DateTime.fromMillis(Date.now() + offset, { zone: 'utc' });
};
