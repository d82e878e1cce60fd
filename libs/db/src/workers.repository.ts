import type { PrismaClient } from './generated/prisma/client';

export interface WorkerRegistration {
  id: string;
  hostname: string;
  pid: number;
  backend: string | null;
  gpu: string | null;
  concurrency: number;
}

/** Worker processes and their heartbeats, so operators can tell a live fleet from a dead one. */
export class WorkersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Re-registering an id (a restarted worker) starts it afresh rather than failing. */
  async register(input: WorkerRegistration): Promise<void> {
    const now = new Date();
    const fields = {
      hostname: input.hostname,
      pid: input.pid,
      backend: input.backend,
      gpu: input.gpu,
      concurrency: input.concurrency,
      startedAt: now,
      lastHeartbeatAt: now,
      stoppedAt: null,
    };
    await this.prisma.worker.upsert({ where: { id: input.id }, create: { id: input.id, ...fields }, update: fields });
  }

  async heartbeat(id: string): Promise<void> {
    await this.prisma.worker.updateMany({ where: { id }, data: { lastHeartbeatAt: new Date() } });
  }

  async stop(id: string): Promise<void> {
    await this.prisma.worker.updateMany({ where: { id }, data: { stoppedAt: new Date() } });
  }
}
