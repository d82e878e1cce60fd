import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuDevice } from './device-report';

const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits'];
const NVIDIA_SMI_TIMEOUT_MS = 15_000;
const PROC_GPUS = '/proc/driver/nvidia/gpus';

/**
 * The GPUs the NVIDIA driver lists (nvidia-smi, which the NVIDIA container toolkit mounts; else
 * /proc/driver/nvidia, models only), within this process's CUDA_VISIBLE_DEVICES when that is set.
 * None on a machine without the driver. A driver that is there but broken (nvidia-smi fails) throws.
 */
export async function listNvidiaGpus(env: NodeJS.ProcessEnv = process.env): Promise<GpuDevice[]> {
  const all = (await fromNvidiaSmi()) ?? (await fromProcDriver());
  return withinVisibleDevices(all, env['CUDA_VISIBLE_DEVICES']);
}

/** `0, GPU-8f…, NVIDIA H100 80GB HBM3, 81559` per line (nvidia-smi's csv,noheader,nounits). */
export function parseNvidiaSmi(csv: string): GpuDevice[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[0]!))
    .map((fields) => {
      const memory = Number(fields.at(-1));
      return {
        index: Number(fields[0]),
        uuid: fields[1] || null,
        // A model name could hold a comma; the fields around it cannot.
        model: fields.slice(2, -1).join(', '),
        memoryMb: fields.at(-1) !== '' && Number.isFinite(memory) ? memory : null,
      };
    });
}

/** CUDA_VISIBLE_DEVICES names GPUs by index or UUID; empty, or an entry naming none, hides the rest (as CUDA does). */
export function withinVisibleDevices(gpus: GpuDevice[], visible: string | undefined): GpuDevice[] {
  if (visible === undefined) return gpus;
  const shown: GpuDevice[] = [];
  for (const id of visible.split(',').map((entry) => entry.trim())) {
    const gpu = gpus.find(
      (g) => String(g.index) === id || (g.uuid !== null && g.uuid.startsWith(id) && id.startsWith('GPU-')),
    );
    if (!gpu) break;
    if (!shown.includes(gpu)) shown.push(gpu);
  }
  return shown;
}

function fromNvidiaSmi(): Promise<GpuDevice[] | undefined> {
  return new Promise((resolve, reject) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (!error) return resolve(parseNvidiaSmi(stdout));
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
      reject(
        new Error(
          `nvidia-smi failed (${error.message.trim()}): ${String(stderr || stdout)
            .trim()
            .slice(0, 500)}`,
        ),
      );
    });
  });
}

async function fromProcDriver(): Promise<GpuDevice[]> {
  let buses: string[];
  try {
    buses = (await readdir(PROC_GPUS)).sort();
  } catch {
    return [];
  }
  // nvidia-smi numbers GPUs in PCI bus order: the same order as these folders' names.
  return Promise.all(
    buses.map(async (bus, index) => {
      const information = await readFile(join(PROC_GPUS, bus, 'information'), 'utf8').catch(() => '');
      const model = /^Model:\s*(.+)$/m.exec(information)?.[1]?.trim() ?? 'unknown NVIDIA GPU';
      return { index, uuid: /^GPU UUID:\s*(\S+)$/m.exec(information)?.[1] ?? null, model, memoryMb: null };
    }),
  );
}
