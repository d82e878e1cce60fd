import type { ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * The Retry-After of a refused upload, in seconds: a place frees when another upload ends, which
 * takes as long as its client takes to send its folder, so no wait is exact. Long enough that a
 * client retrying (@trainyard/client retries a 429 with Retry-After when it can send the body
 * again) does not knock at once; short enough for a folder of a few hundred MB to have gone.
 */
export const UPLOAD_RETRY_AFTER_S = 15;

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
  private total = 0;
  /** Open uploads by `key:<id>` and `project:<name>`. */
  private readonly held = new Map<string, number>();

  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {}

  /** Uploads open in this process now. */
  get openUploads(): number {
    return this.total;
  }

  /**
   * Takes a place for `keyId`'s upload, or sets Retry-After on `res` and throws the 429. The place
   * is given back by the returned function (once, whoever calls it first) and in any case when
   * `res` closes: the answer sent, the client gone, its socket cut.
   */
  acquire(keyId: string, project: string | null, res: ServerResponse): () => void {
    const { datasetUploadsPerKey, datasetUploadsPerProject, datasetUploadsPerProcess } = this.config.limits;
    const counted = [`key:${keyId}`, ...(project === null ? [] : [`project:${project}`])];
    const mine = this.held.get(counted[0]!) ?? 0;
    const ours = project === null ? 0 : (this.held.get(counted[1]!) ?? 0);
    const which =
      mine >= datasetUploadsPerKey
        ? `this key has ${mine} open (DATASET_UPLOAD_MAX_PER_KEY=${datasetUploadsPerKey})`
        : project !== null && ours >= datasetUploadsPerProject
          ? `project ${project} has ${ours} open (DATASET_UPLOAD_MAX_PER_PROJECT=${datasetUploadsPerProject})`
          : this.total >= datasetUploadsPerProcess
            ? `this server has ${this.total} open (DATASET_UPLOAD_MAX_PER_PROCESS=${datasetUploadsPerProcess})`
            : null;
    if (which !== null) {
      res.setHeader('retry-after', String(UPLOAD_RETRY_AFTER_S));
      throw new HttpException(
        {
          message: `Too many dataset uploads at once: ${which}; try again once one has finished (Retry-After: ${UPLOAD_RETRY_AFTER_S} s)`,
          retryAfterSeconds: UPLOAD_RETRY_AFTER_S,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    for (const name of counted) this.held.set(name, (this.held.get(name) ?? 0) + 1);
    this.total++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      res.off('close', release);
      this.total--;
      for (const name of counted) {
        const left = (this.held.get(name) ?? 1) - 1;
        if (left <= 0) this.held.delete(name);
        else this.held.set(name, left);
      }
    };
    res.once('close', release);
    return release;
  }
}
