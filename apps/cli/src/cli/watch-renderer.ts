import type { RunProgress, RunStatus } from '@trainyard/contracts';
import { formatDuration } from '../progress-line';
import { terminalSafe } from '../terminal-safe';

interface Output {
  write(text: string): unknown;
  /** Clears the terminal's current line and draws `line` on it (CommandContext.redraw). */
  redraw(line: string): unknown;
}

const BAR_WIDTH = 24;

/** How far a run is, 0..1: its step out of its budget's steps (the epoch when steps are unknown). */
export function fractionDone(p: RunProgress): number {
  // totalSteps is the budget's own (a steps budget may end inside its last epoch); older workers send none.
  const total = p.totalSteps ?? p.epochs * p.stepsPerEpoch;
  const done = total > 0 ? p.step / total : p.epochs > 0 ? (p.epoch - 1) / p.epochs : 0;
  return p.phase === 'done' ? 1 : Math.min(1, Math.max(0, done));
}

export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

/** The line for a progress report: phase, bar, epoch, loss, throughput, ETA; terminal-safe (the phase is the worker's word). */
export function watchLine(p: RunProgress): string {
  const parts = [p.phase.padEnd(13), progressBar(fractionDone(p)), `epoch ${Math.max(1, p.epoch)}/${p.epochs}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
  if (p.imagesPerSec !== undefined) parts.push(`${Math.round(p.imagesPerSec)} img/s`);
  if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return terminalSafe(parts.join('  '));
}

/**
 * Draws `trainyard watch`. On a terminal one line is redrawn in place at every report; into a
 * file or a pipe every line would stay, so only a change of phase or epoch (and each status)
 * is printed, one plain line each, with no escape codes for a log to choke on. What it draws
 * comes from the API (a failure reason, a queue's project): each line is made terminal-safe here.
 */
export class WatchRenderer {
  private live = false;
  private lastKey = '';
  private lastWaiting = '';

  constructor(
    private readonly out: Output,
    private readonly tty: boolean,
  ) {}

  progress(p: RunProgress): void {
    const line = watchLine(p);
    if (this.tty) {
      this.out.redraw(line);
      this.live = true;
      return;
    }
    const key = `${p.phase}/${p.epoch}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.out.write(`${line}\n`);
  }

  status(runId: string, status: RunStatus, failureReason: string | null): void {
    this.endLine();
    this.lastWaiting = '';
    this.out.write(`${terminalSafe(`run ${runId} ${status}${failureReason ? `: ${failureReason}` : ''}`)}\n`);
  }

  /**
   * Where a waiting run stands, read again now and then: redrawn in place on a terminal; into a
   * file or a pipe, a line only when it changed.
   */
  waiting(text: string): void {
    const line = `  ${terminalSafe(text)}`;
    if (this.tty) {
      this.out.redraw(line);
      this.live = true;
      return;
    }
    if (line === this.lastWaiting) return;
    this.lastWaiting = line;
    this.out.write(`${line}\n`);
  }

  /** Leaves the redrawn line in place before anything else is written under it. */
  endLine(): void {
    if (this.live) this.out.write('\n');
    this.live = false;
  }
}
