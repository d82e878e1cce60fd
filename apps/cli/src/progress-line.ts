import type { RunProgress } from '@trainyard/contracts';
import { displayWidth, padToWidth } from './display-width';
import { terminalSafe } from './terminal-safe';

/** One terminal line describing where a run is: epoch, step, loss, throughput and ETA. */
export function formatProgress(label: string, status: string, p: RunProgress | null): string {
  return terminalSafe(progressText(label, status, p));
}

function progressText(label: string, status: string, p: RunProgress | null): string {
  if (!p) return `${label}  ${status.toLowerCase()}`;
  const parts = [`${label}  ${p.phase}`, `epoch ${Math.max(1, p.epoch)}/${p.epochs}`, `step ${p.step}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
  if (p.imagesPerSec !== undefined) parts.push(`${Math.round(p.imagesPerSec)} img/s`);
  if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join('  ');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * An API timestamp (ISO 8601, UTC) as every table prints one: `YYYY-MM-DD HH:MM:SS`, UTC (the
 * column's header says so), to the second.
 */
export function formatTimestamp(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

/**
 * Renders rows as an aligned plain-text table. Cells often hold names from the API: each is made
 * terminal-safe (one line, no control, bidi or zero-width character) before the widths are measured,
 * in terminal columns (a CJK character or an emoji takes two).
 */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = tableWidths(header, rows);
  return [...tableHead(header, widths), ...tableRows(rows, widths)].join('\n');
}

/** The columns' widths that fit `header` and `rows`, in terminal columns, as formatTable measures them. */
export function tableWidths(header: string[], rows: string[][]): number[] {
  const [head, ...body] = [header, ...rows].map((cells) => cells.map((c) => terminalSafe(String(c))));
  return head!.map((h, i) => Math.max(displayWidth(h), ...body.map((r) => displayWidth(r[i]))));
}

/** A table's header and rule lines at `widths`. */
export function tableHead(header: string[], widths: number[]): string[] {
  return [...tableRows([header], widths), widths.map((w) => '-'.repeat(w)).join('  ')];
}

/** Rows at `widths` (a cell wider than its column widens only its own row): a table printed a page at a time. */
export function tableRows(rows: string[][], widths: number[]): string[] {
  return rows.map((cells) => cells.map((c, i) => padToWidth(terminalSafe(String(c)), widths[i] ?? 0)).join('  '));
}
