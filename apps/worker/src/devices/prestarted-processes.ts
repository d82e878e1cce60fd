import { Inject, Injectable, Logger } from '@nestjs/common';
import { withoutLogFields, type TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import { prestartTrainingProcess, type PrestartedTrainingProcess } from '@trainyard/training/supervisor';
import { ActiveTrainings } from '../active-trainings';
import { trainsWithoutProcess } from '../stand-in-training';
import { WorkerDevices, type DeviceLease } from './worker-devices';

/** Spares that die before their attempt this many times in a row stop the prestarting (a broken backend). */
const MAX_EARLY_DEATHS = 3;

interface Spare {
  process: PrestartedTrainingProcess;
  lease: DeviceLease;
  /** Ended on purpose (drain, shutdown): not an early death. */
  discarded: boolean;
  taken: boolean;
}

/**
 * Training processes started before their attempts (WORKER_PRESTART): one per idle training slot,
 * each pinned to its GPU and loading TensorFlow.js and the backend while it waits, so an attempt
 * skips the process start and the backend load (node + TensorFlow.js + wasm ≈ 1 s on this
 * project's machine; a CUDA context takes longer). Each still trains one attempt and exits.
 * Spares that keep dying before their attempt turn the prestarting off; attempts then start their
 * process as they come.
 */
@Injectable()
export class PrestartedProcesses {
  private readonly logger = new Logger(PrestartedProcesses.name);
  private readonly spares: Spare[] = [];
  private paused = true;
  private earlyDeaths = 0;

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly devices: WorkerDevices,
    private readonly active: ActiveTrainings,
  ) {}

  get enabled(): boolean {
    return this.config.worker.prestart && !trainsWithoutProcess() && this.earlyDeaths < MAX_EARLY_DEATHS;
  }

  /** Starts keeping spares (at bootstrap, and when a drain is taken back). */
  resume(): void {
    this.paused = false;
    this.refill();
  }

  /** Ends every spare and starts none until `resume` (a drain, a shutdown). */
  pause(): void {
    this.paused = true;
    for (const spare of this.spares.splice(0)) this.discard(spare);
  }

  /** A spare and the GPU it is pinned to, for an attempt; undefined when none is there. The caller releases the lease. */
  take(): { process: PrestartedTrainingProcess; lease: DeviceLease } | undefined {
    const spare = this.spares.shift();
    if (!spare) return undefined;
    spare.taken = true;
    this.earlyDeaths = 0;
    return { process: spare.process, lease: spare.lease };
  }

  /** Starts spares until every idle training slot has one (call when an attempt ends). */
  refill(): void {
    while (!this.paused && this.enabled && this.active.size + this.spares.length < this.devices.concurrency) {
      // Started from an ended attempt's code, it belongs to no run until one is given to it.
      this.spares.push(withoutLogFields(() => this.start()));
    }
  }

  private start(): Spare {
    const lease = this.devices.lease();
    const child = prestartTrainingProcess({
      env: lease.env,
      backend: this.devices.backend,
      heartbeatTimeoutMs: this.config.worker.childHeartbeatTimeoutMs,
      onOutput: (line) =>
        this.logger[line.stream === 'stderr' ? 'warn' : 'debug'](
          `prestarted training process ${child.pid}${lease.label}: ${line.text}`,
        ),
    });
    const spare: Spare = { process: child, lease, discarded: false, taken: false };
    void child.exited.then(() => {
      if (spare.taken) return; // the attempt's: its lease is the attempt's to release
      lease.release();
      const i = this.spares.indexOf(spare);
      if (i >= 0) this.spares.splice(i, 1);
      if (spare.discarded) return;
      this.earlyDeaths++;
      if (!this.enabled)
        this.logger.error(
          `${MAX_EARLY_DEATHS} prestarted training processes in a row died before their attempt: attempts start their own from now on (see the lines above)`,
        );
      else this.refill();
    });
    return spare;
  }

  private discard(spare: Spare): void {
    spare.discarded = true;
    spare.process.discard();
  }
}
