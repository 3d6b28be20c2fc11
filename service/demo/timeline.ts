import type { KeptnEvent } from '../../lib/index.js';

export interface TimelineEntry {
  at: number;
  event: KeptnEvent;
}

/** The demo's event timeline as a plain-text table. */
export function printTimeline(out: NodeJS.WritableStream, entries: TimelineEntry[]): void {
  const rows = entries
    .sort((a, b) => a.at - b.at)
    .map(({ at, event }) => {
      const d = event.data;
      const gitops = (d.gitops ?? {}) as Record<string, unknown>;
      const outcome = d.status ? `${d.status}/${d.result ?? ''}` : '';
      const detail = event.type.endsWith('.finished')
        ? `${d.message ?? ''}${gitops.revision ? ` [revision ${String(gitops.revision)}]` : ''}`
        : '';
      return [
        `+${(at / 1000).toFixed(2)}s`,
        event.type.replace('sh.keptn.event.', ''),
        String(d.service ?? ''),
        event.source,
        event.type.endsWith('.finished') ? outcome : '',
        detail,
      ];
    });
  const header = ['time', 'event', 'service', 'source', 'outcome', 'message'];
  const widths = header.map((h, i) =>
    Math.min(i === 5 ? 200 : 40, Math.max(h.length, ...rows.map((r) => r[i]!.length))),
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  out.write(`${line(header)}\n${line(widths.map((w) => '-'.repeat(Math.min(w, 60))))}\n`);
  for (const row of rows) out.write(`${line(row)}\n`);
}
