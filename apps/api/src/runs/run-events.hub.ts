import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { QueueEvents } from 'bullmq';
import type { TrainyardConfig } from '@trainyard/config';
import type { RunEvent, RunProgress } from '@trainyard/contracts';
import { MetricsRepository, RunsRepository } from '@trainyard/db';
import type { TrainingQueues } from '@trainyard/queue';
import type { Redis } from 'ioredis';
import { withDeadline } from '../common/with-deadline';
import { CONFIG, logQueueErrors, openRedisConnection, TRAINING_QUEUES } from '@trainyard/infrastructure';

type Listener = (event: RunEvent) => void;

interface Channel {
  listeners: Set<Listener>;
  /** Viewers between `subscribe` and their listener's registration: the channel stays while any wait. */
  joining: number;
  /** Where the run's points end, read once for the channel; every viewer waits for it. */
  ready: Promise<void>;
  /** metric_points.id of the newest point already sent; new points have larger ids. */
  lastPointId: number;
  reading: boolean;
  again: boolean;
  statusWanted: boolean;
  trailing?: NodeJS.Timeout;
}

/** Reads of one run are at least this far apart, however fast progress events arrive. */
const MIN_READ_INTERVAL_MS = 500;
/** Metrics are written after the epoch's last progress event: one more read this long after the last event. */
const TRAILING_READ_MS = 1500;
const MAX_POINTS_PER_READ = 5000;

/**
 * Live events of runs for server-sent-event clients. One BullMQ QueueEvents (one Redis stream
 * reader) per resource class's queue per API process, whatever the number of viewers; a run's progress, completion or
 * failure triggers one light read of that run (new metric points by id, status), shared by every
 * viewer of the run and coalesced to one read per 500 ms. Nothing polls while nobody watches.
 */
@Injectable()
export class RunEventsHub implements OnApplicationShutdown {
  private readonly logger = new Logger(RunEventsHub.name);
  private readonly channels = new Map<string, Channel>();
  private events: { queueEvents: QueueEvents; connection: Redis }[] = [];
  private starting?: Promise<void>;

  constructor(
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly runs: RunsRepository,
    private readonly metrics: MetricsRepository,
  ) {}

  /** Starts forwarding the run's events to `listener`; call the returned function to stop. */
  async subscribe(runId: string, listener: Listener): Promise<() => void> {
    await this.ensureQueueEvents();
    const channel = this.channels.get(runId) ?? this.open(runId);
    // Counted while it waits, so a viewer that leaves meanwhile does not drop the channel under it.
    channel.joining++;
    try {
      await channel.ready;
    } catch (error) {
      // The next viewer opens a channel afresh rather than one that never learnt where points end.
      if (this.channels.get(runId) === channel) this.channels.delete(runId);
      throw error;
    } finally {
      channel.joining--;
    }
    channel.listeners.add(listener);
    return () => {
      channel.listeners.delete(listener);
      this.dropIfIdle(runId, channel);
    };
  }

  /**
   * A run's channel, registered at once so that concurrent first viewers share it; it reads
   * nothing until it knows where the run's points end (reading stays true until then).
   */
  private open(runId: string): Channel {
    const channel: Channel = {
      listeners: new Set(),
      joining: 0,
      ready: Promise.resolve(),
      lastPointId: 0,
      reading: true,
      again: false,
      statusWanted: false,
    };
    channel.ready = this.metrics.newestPointId(runId).then(
      (id) => {
        channel.lastPointId = id;
        channel.reading = false;
      },
      (error: unknown) => {
        channel.reading = false;
        throw error;
      },
    );
    this.channels.set(runId, channel);
    return channel;
  }

  private dropIfIdle(runId: string, channel: Channel): void {
    if (channel.listeners.size > 0 || channel.joining > 0 || this.channels.get(runId) !== channel) return;
    clearTimeout(channel.trailing);
    this.channels.delete(runId);
  }

  get watchedRuns(): number {
    return this.channels.size;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const channel of this.channels.values()) clearTimeout(channel.trailing);
    this.channels.clear();
    await this.starting;
    const events = this.events;
    this.events = [];
    for (const { queueEvents, connection } of events) {
      await queueEvents.close().catch(() => undefined);
      if (connection.status !== 'end') await connection.quit().catch(() => connection.disconnect());
    }
  }

  /**
   * Starts the one stream reader, once. It reads from the Redis server's clock at the moment it
   * starts, not from `$`: `$` would mean "after the first XREAD", which runs later, so the
   * first viewer of a fresh API process could miss the events of the first second or so.
   */
  private ensureQueueEvents(): Promise<void> {
    this.starting ??= this.startQueueEvents();
    return this.starting;
  }

  /**
   * A stream id just before the Redis server's clock now; `$` when Redis does not answer in
   * time, so a viewer during an outage still gets its stream (and events once Redis is back).
   */
  private async redisNow(connection: Redis): Promise<string> {
    try {
      const deadline = this.config.redis.connectTimeoutMs;
      const [seconds, micros] = await withDeadline(
        connection.time(),
        deadline,
        `Redis TIME: no answer within ${deadline} ms`,
      );
      return `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
    } catch {
      return '$';
    }
  }

  private async startQueueEvents(): Promise<void> {
    for (const [, queue] of this.queues.entries()) await this.startQueueEventsOf(queue.name);
  }

  private async startQueueEventsOf(queueName: string): Promise<void> {
    // QueueEvents blocks on XREAD, so each gets a connection of its own (never the queue's).
    const connection = openRedisConnection(this.config.redis.url, {
      forWorker: true,
      connectTimeoutMs: this.config.redis.connectTimeoutMs,
    });
    const lastEventId = await this.redisNow(connection);
    const queueEvents = new QueueEvents(queueName, { connection, autorun: true, lastEventId });
    logQueueErrors(queueEvents, this.logger, 'Run events');
    queueEvents.on('progress', ({ jobId, data }) => {
      // The worker reports a RunProgress (training-job progress events), nothing else.
      this.emit(jobId, { type: 'progress', runId: jobId, progress: data as RunProgress });
      this.scheduleRead(jobId, false);
    });
    for (const event of ['active', 'completed', 'failed', 'removed'] as const) {
      queueEvents.on(event, ({ jobId }: { jobId: string }) => this.scheduleRead(jobId, true));
    }
    this.events.push({ queueEvents, connection });
  }

  private emit(runId: string, event: RunEvent): void {
    for (const listener of this.channels.get(runId)?.listeners ?? []) listener(event);
  }

  private scheduleRead(runId: string, status: boolean, trailing = false): void {
    const channel = this.channels.get(runId);
    if (!channel) return;
    channel.statusWanted ||= status;
    if (!trailing) {
      clearTimeout(channel.trailing);
      channel.trailing = setTimeout(() => this.scheduleRead(runId, true, true), TRAILING_READ_MS);
      channel.trailing.unref();
    }
    if (channel.reading) {
      channel.again = true;
      return;
    }
    channel.reading = true;
    void this.read(runId, channel).finally(() => {
      setTimeout(() => {
        channel.reading = false;
        if (channel.again) {
          channel.again = false;
          this.scheduleRead(runId, false, true);
        }
      }, MIN_READ_INTERVAL_MS).unref();
    });
  }

  private async read(runId: string, channel: Channel): Promise<void> {
    try {
      const wantStatus = channel.statusWanted;
      channel.statusWanted = false;
      const points = await this.metrics.pointsAfter(runId, channel.lastPointId, MAX_POINTS_PER_READ);
      if (points.length) {
        channel.lastPointId = points[points.length - 1]!.id;
        this.emit(runId, { type: 'metrics', runId, points });
        if (points.length === MAX_POINTS_PER_READ) channel.again = true;
      }
      if (wantStatus) {
        const run = await this.runs.liveState(runId);
        if (run) this.emit(runId, { type: 'status', runId, ...run });
      }
    } catch (err) {
      this.logger.warn(`Run events: reading run ${runId} failed: ${(err as Error).message}`);
    }
  }
}
