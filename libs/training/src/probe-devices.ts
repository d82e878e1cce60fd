import type { BackendName } from '@trainyard/engine';
import { CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS } from '@trainyard/config';
import { compiledEntry } from './compiled-entry';
import type { DeviceReport } from './device-report';
import { describeCrash, superviseChild } from './supervise-child';
import type { TrainingOutputLine } from './training-output';

export type DeviceProbe = { ok: true; report: DeviceReport } | { ok: false; reason: string };

export interface DeviceProbeOptions {
  /** Use exactly this backend (TRAINYARD_BACKEND); the best available otherwise. */
  backend?: BackendName;
  /** Added to this process's environment for the probe. */
  env?: Record<string, string>;
  /** The probe is killed after this long without an answer (WORKER_CHILD_HEARTBEAT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** What the probe prints (TensorFlow's device lines, a driver's complaints). */
  onOutput?: (line: TrainingOutputLine) => void;
}

/**
 * What this machine trains with: the backend the engine picks (or is told to use) and the GPUs it
 * will use, found in a short-lived process of its own (device-probe.child.ts), so that a broken
 * driver or a crashing native binding fails the probe, never the worker. Never rejects.
 */
export async function probeDevices(options: DeviceProbeOptions = {}): Promise<DeviceProbe> {
  const timeoutMs = options.timeoutMs ?? CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS;
  const what = 'device probe';
  let report: DeviceReport | undefined;
  const child = superviseChild(compiledEntry('device-probe.child'), {
    what,
    env: options.env,
    silenceTimeoutMs: timeoutMs,
    onOutput: options.onOutput ?? (() => undefined),
    onMessage: (message) => {
      if (message.kind !== 'devices') return;
      report = message.report;
      child.finished();
    },
  });
  child.send({ kind: 'probe', backend: options.backend, heartbeatMs: child.heartbeatMs });
  const crash = await child.exited;
  return report ? { ok: true, report } : { ok: false, reason: describeCrash(what, crash, timeoutMs) };
}
