import { cpus, loadavg } from 'node:os';

/** The machine's load average now, as every bench prints it. */
export function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

/**
 * A bench's first line: what it ran on (cores, CPU model, node) and how loaded the machine was, so
 * its figures can be set beside another run's. `at` adds the time.
 */
export function machineLine(bench: string, at = true): string {
  const when = at ? `; ${new Date().toISOString()}` : '';
  return `bench:${bench} on ${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), node ${process.version}, ${loadAverage()}${when}`;
}
