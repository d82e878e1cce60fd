import type { ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import { HolderPlaces, type PlaceBounds, type PlaceLevel } from '../http/holder-places';

/**
 * The Retry-After of a refused upload, in seconds: a place frees when another upload ends, which
 * takes as long as its client takes to send its folder, so no wait is exact. Long enough that a
 * client retrying (@trainyard/client retries a 429 with Retry-After when it can send the body
 * again) does not knock at once; short enough for a folder of a few hundred MB to have gone.
 */
export const UPLOAD_RETRY_AFTER_S = 15;

/** Projects whose last refusal is remembered at most: past it the memory starts over (a refusal only matters for a window). */
const MAX_REFUSED_PROJECTS_KEPT = 10_000;

/**
 * Dataset uploads open at once: a key may hold DATASET_UPLOAD_MAX_PER_KEY of them in this process,
 * the keys of one project together DATASET_UPLOAD_MAX_PER_PROJECT (half the process's by default,
 * so a project with several keys cannot take every place), the process DATASET_UPLOAD_MAX_PER_PROCESS. An upload holds its socket, one image part on its way
 * to the store and a share of a core for as long as its client keeps sending (or until
 * STALLED_CLIENT_MS cuts a client that stopped): without a bound, one key opening many at once
 * could take the API's memory and every other project's uploads with it.
 */
@Injectable()
export class DatasetUploadLimiter {
  private readonly places = new HolderPlaces();
  private readonly bounds: PlaceBounds;
  /** When an upload was last refused for the process's bound, and for each project's (Date.now()). */
  private processRefusedAt = -Infinity;
  private readonly projectRefusedAt = new Map<string, number>();

  constructor(@Inject(CONFIG) config: TrainyardConfig) {
    const { datasetUploadsPerKey, datasetUploadsPerProject, datasetUploadsPerProcess } = config.limits;
    this.bounds = {
      perKey: { max: datasetUploadsPerKey, setting: 'DATASET_UPLOAD_MAX_PER_KEY' },
      perProject: { max: datasetUploadsPerProject, setting: 'DATASET_UPLOAD_MAX_PER_PROJECT' },
      perProcess: { max: datasetUploadsPerProcess, setting: 'DATASET_UPLOAD_MAX_PER_PROCESS' },
      projectHolds: (project, open) => `project ${project} has ${open} open`,
    };
  }

  /** Uploads open in this process now. */
  get openUploads(): number {
    return this.places.held;
  }

  /**
   * Takes a place for `keyId`'s upload, or sets Retry-After on `res` and throws the 429. The place
   * is given back by the returned function (once, whoever calls it first) and in any case when
   * `res` closes: the answer sent, the client gone, its socket cut.
   */
  acquire(keyId: string, project: string | null, res: ServerResponse): () => void {
    const full = this.places.full({ keyId, project }, this.bounds);
    if (full !== null) {
      this.noteRefusal(full.level, project);
      res.setHeader('retry-after', String(UPLOAD_RETRY_AFTER_S));
      throw new HttpException(
        {
          message: `Too many dataset uploads at once: ${full.why}; try again once one has finished (Retry-After: ${UPLOAD_RETRY_AFTER_S} s)`,
          retryAfterSeconds: UPLOAD_RETRY_AFTER_S,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const give = this.places.take({ keyId, project });
    const release = () => {
      res.off('close', release);
      give();
    };
    res.once('close', release);
    return release;
  }

  /**
   * Whether an upload of `project` holds a place another upload was refused within the last
   * `withinMs`: one of the process's places (any upload), or one of its project's. A refusal for a
   * key's own bound does not count: that client waits for its own uploads. What the upload rate
   * floor asks before it cuts a slow upload (DATASET_UPLOAD_MIN_BYTES_PER_SECOND).
   */
  wanted(project: string | null, withinMs: number): boolean {
    const since = Date.now() - withinMs;
    return (
      this.processRefusedAt >= since || (project !== null && (this.projectRefusedAt.get(project) ?? -Infinity) >= since)
    );
  }

  private noteRefusal(level: PlaceLevel, project: string | null): void {
    const now = Date.now();
    if (level === 'process') this.processRefusedAt = now;
    else if (level === 'project' && project !== null) {
      // One entry a project refused lately; past the bound the memory starts over (a refusal matters for one window).
      if (this.projectRefusedAt.size >= MAX_REFUSED_PROJECTS_KEPT) this.projectRefusedAt.clear();
      this.projectRefusedAt.set(project, now);
    }
  }
}
