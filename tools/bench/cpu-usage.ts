import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Client } from 'pg';
import type { Redis } from 'ioredis';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
export const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system) each party has used so far; undefined where it could not be read. */
export type CpuReading = Record<string, number | undefined>;

/** Where the CPU of one party is read from. */
export type CpuSource =
  | { name: string; kind: 'this process' }
  | { name: string; kind: 'process'; pid: number }
  /** The server processes of every connection to the client's database (readable when PostgreSQL runs on this machine). */
  | { name: string; kind: 'postgres'; client: Client }
  /** The Redis server's own count (INFO cpu), whatever else it serves. */
  | { name: string; kind: 'redis'; client: Redis };

/** Reads every source once. A PostgreSQL backend that exits between two readings takes its CPU with it. */
export async function readCpu(sources: CpuSource[]): Promise<CpuReading> {
  const reading: CpuReading = {};
  for (const source of sources) reading[source.name] = await readOne(source);
  return reading;
}

/** What each party used between two readings, in ms per unit of work (a job, a run), and their sum. */
export function cpuPerUnit(
  before: CpuReading,
  after: CpuReading,
  units: number,
): { parts: [string, number][]; totalMs: number } {
  const parts: [string, number][] = [];
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (end === undefined || start === undefined) continue;
    parts.push([name, ((end - start) * 1000) / units]);
  }
  return { parts, totalMs: parts.reduce((sum, [, ms]) => sum + ms, 0) };
}

export function describeCpu({ parts, totalMs }: ReturnType<typeof cpuPerUnit>, unit: string): string {
  return `CPU per ${unit}: ${parts.map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`).join(', ')}; total ${totalMs.toFixed(2)} ms`;
}

async function readOne(source: CpuSource): Promise<number | undefined> {
  switch (source.kind) {
    case 'this process': {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    }
    case 'process':
      return procCpuSeconds(source.pid);
    case 'postgres': {
      const { rows } = await source.client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      const seconds = rows.map((r) => procCpuSeconds(r.pid));
      return seconds.some((s) => s === undefined) ? undefined : seconds.reduce<number>((sum, s) => sum + s!, 0);
    }
    case 'redis': {
      const info = await source.client.info('cpu');
      const field = (name: string) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, 'm'))?.[1]);
      const total = field('used_cpu_user') + field('used_cpu_sys');
      return Number.isFinite(total) ? total : undefined;
    }
  }
}

/** utime + stime of a process on this machine, in seconds; undefined if it is not readable (gone, or elsewhere). */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}
