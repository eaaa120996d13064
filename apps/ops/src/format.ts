import type { ReplayReport, StreamInspection, VerifyReport } from '@app/ops';

/** A plain text table (left-aligned columns, header underlined). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return (
    [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
  );
}

/** The few fields of a state worth a glance; the full state is in --json. */
function stateSummary(state: unknown): string {
  if (state === null || typeof state !== 'object') return String(state);
  const s = state as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of [
    'status',
    'autoRenew',
    'expiresAt',
    'purgeAt',
    'purgedAt',
    'legalHold',
    'lastErasedAt',
  ]) {
    if (!(key in s)) continue;
    const v = s[key];
    parts.push(`${key}=${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  const term = s['currentTerm'] as { start?: string; end?: string } | undefined;
  if (term?.start) parts.splice(1, 0, `term=${term.start}..${term.end ?? ''}`);
  return parts.join(' ');
}

export function formatInspection(r: StreamInspection): string {
  const lines = [
    `Stream ${r.streamId} (${r.kind}), ${r.events.length} events${r.asOf ? ` up to ${r.asOf}` : ''}`,
  ];
  if (r.laterEvents > 0) lines.push(`(${r.laterEvents} later events not folded)`);
  for (const e of r.events) {
    const who = e.actor ? `${e.actor.actorId}/${e.actor.role}` : '-';
    lines.push('');
    lines.push(
      `#${e.revision} @${e.position}  ${e.type}  ${e.recordedAt}  by ${who} via ${e.channel ?? '-'}`,
    );
    lines.push(`  data:  ${JSON.stringify(e.data)}`);
    lines.push(`  state: ${stateSummary(e.state)}`);
  }
  lines.push('', `State${r.asOf ? ` as of ${r.asOf}` : ''}:`, JSON.stringify(r.state, null, 2));
  return `${lines.join('\n')}\n`;
}

export function formatReplay(r: ReplayReport): string {
  const lines = [
    `${r.dryRun ? 'Dry run: rebuilt' : 'Rebuilt'} ${r.projections.join(', ')} (${r.dialect}, generation ${r.generation})`,
    `  ${r.events.toLocaleString('en')} events in ${(r.buildMs / 1000).toFixed(2)} s (${r.eventsPerSecond.toLocaleString('en')} events/s), up to position ${r.position ?? '-'}`,
    r.swapped
      ? `  switched readers over in ${r.swapMs} ms, writers held by the pointer's lock for ${r.lockMs} ms of it (live checkpoint was ${r.livePosition ?? '-'}); replaced ${r.replaced ?? 'the base tables'}${r.replacedDropped ? ', dropped' : ', left for the next replay to remove'}`
      : '  live read models left as they were',
  ];
  if (r.tables) {
    lines.push('');
    lines.push(
      table(
        ['table', 'live rows', 'rebuilt rows', 'equal'],
        Object.entries(r.tables).map(([t, c]) => [
          t,
          String(c.live.rows),
          String(c.rebuilt.rows),
          c.equal ? 'yes' : 'NO',
        ]),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function formatVerify(r: VerifyReport): string {
  const lines = [
    `${r.ok ? 'OK' : 'DRIFT'}: checked ${r.events.toLocaleString('en')} events up to position ${r.checkpoint ?? '-'}, ` +
      `${r.auditRows} audit rows, ${r.subscriptions} subscriptions, ${r.accounts} accounts, ` +
      `${r.receipts} receipts, ${r.integrationEvents} integration events in ${r.durationMs} ms` +
      (r.skippedNewer ? ` (${r.skippedNewer} rows newer than the checkpoint skipped)` : ''),
  ];
  if (!r.ok) {
    lines.push(
      `${r.driftCount} drift(s)${r.driftCount > r.drifts.length ? `, first ${r.drifts.length}` : ''}:`,
    );
    for (const d of r.drifts) {
      lines.push(`  ${d.kind} ${d.key}`);
      for (const [field, v] of Object.entries(d.fields ?? {}))
        lines.push(
          `    ${field}: log says ${JSON.stringify(v.expected)}, row has ${JSON.stringify(v.actual)}`,
        );
    }
    lines.push('Repair: `npm run ops -- replay` rebuilds the read models from the log.');
  }
  return `${lines.join('\n')}\n`;
}
