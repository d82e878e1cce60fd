import type { UploadReservationsRepository } from '@trainyard/db';

/** Bytes an upload without a declared length sets aside at a time, ahead of what it has read: a few dozen reservations for the largest. */
export const UPLOAD_ROOM_STEP_BYTES = 64 * 1024 ** 2;
/** How often an upload in progress renews its reservation, far inside UPLOAD_RESERVATION_HELD_MS. */
export const UPLOAD_ROOM_RENEW_MS = 10 * 60_000;

/** Why an upload's body may not carry more: the setting it would pass, in words for the 413. */
export class NoRoom extends Error {}

export interface UploadRoomOptions {
  /** The upload's uuid (its folder's). */
  id: string;
  project: string;
  /** QUOTA_PROJECT_UPLOAD_BYTES: the quota of a project without its own. */
  defaultQuota: number;
  /** DATASET_UPLOAD_MAX_BYTES. */
  perUpload: number;
  /** Bytes set aside at a time when the length is not declared (UPLOAD_ROOM_STEP_BYTES). */
  stepBytes?: number;
  renewMs?: number;
}

/**
 * The bytes one upload's body may carry: DATASET_UPLOAD_MAX_BYTES, and the room its project's
 * quota leaves, set aside in PostgreSQL before they are read (UploadReservationsRepository), so
 * uploads of one project open at once, on any replica, never pass the quota together. A declared
 * length is set aside whole before a byte is read; a body without one sets aside a step at a time
 * ahead of what it has read. Closing gives the room back: the upload became a dataset (its bytes
 * counted there) or left nothing.
 */
export class UploadRoom {
  private held = 0;
  /** Whether a reservation row was written (a declared length of 0 writes one of 0 bytes). */
  private reserved = false;
  private readonly step: number;
  private renewal: NodeJS.Timeout | undefined;
  private closed = false;
  /** The reservation in progress: the next cover waits for it. */
  private turns: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly reservations: UploadReservationsRepository,
    private readonly options: UploadRoomOptions,
  ) {
    this.step = options.stepBytes ?? UPLOAD_ROOM_STEP_BYTES;
  }

  /**
   * Sets aside the declared length, or a first step: throws NoRoom, before a byte is read, when
   * the declared length passes DATASET_UPLOAD_MAX_BYTES or the room, or no room is left at all.
   */
  async open(declaredBytes: number | undefined): Promise<void> {
    if (declaredBytes !== undefined && declaredBytes > this.options.perUpload) throw this.tooLarge();
    if (declaredBytes !== undefined) await this.reserve(declaredBytes, declaredBytes);
    else await this.reserve(1, Math.min(this.step, this.options.perUpload));
    this.renewal = setInterval(() => {
      this.reservations.renew(this.options.id).catch(() => undefined); // the next reservation renews it too
    }, this.options.renewMs ?? UPLOAD_ROOM_RENEW_MS);
    this.renewal.unref();
  }

  /**
   * Makes sure `received` bytes of the body are set aside, setting aside a step more when they are
   * not: throws NoRoom past either limit. Calls take turns (the body's bytes and the tar's entry
   * headers each ask), so the row and `held` always say the same.
   */
  cover(received: number): Promise<void> {
    const turn = this.turns.then(() => this.coverNow(received));
    this.turns = turn.catch(() => undefined);
    return turn;
  }

  private async coverNow(received: number): Promise<void> {
    if (received <= this.held) return;
    if (received > this.options.perUpload) throw this.tooLarge();
    await this.reserve(received, Math.min(received + this.step, this.options.perUpload));
  }

  /** Gives the room back (once): the upload ended, as a dataset or with nothing kept. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewal);
    if (this.reserved) await this.reservations.release(this.options.id);
  }

  private async reserve(atLeast: number, atMost: number): Promise<void> {
    const { id, project, defaultQuota } = this.options;
    const outcome = await this.reservations.reserve({ id, project, defaultQuota, atLeast, atMost });
    if ('granted' in outcome) {
      this.held = outcome.granted;
      this.reserved = true;
      return;
    }
    const { quota, own, uploaded, reserved } = outcome.refused;
    const room = Math.max(0, quota - uploaded - reserved);
    const which = own ? 'its own upload quota (maxUploadBytes, ' : 'QUOTA_PROJECT_UPLOAD_BYTES (';
    throw new NoRoom(
      `Project ${project}'s uploads would pass ${which}${quota} bytes): its datasets ` +
        `uploaded hold ${uploaded} bytes` +
        (reserved > 0 ? ` and its other uploads in progress have ${reserved} set aside` : '') +
        `, leaving ${room} for this upload's body; ` +
        'delete uploaded datasets it no longer needs (DELETE /v1/datasets/:id), or ask an operator to raise the quota',
    );
  }

  private tooLarge(): NoRoom {
    return new NoRoom(`The upload is larger than DATASET_UPLOAD_MAX_BYTES (${this.options.perUpload} bytes)`);
  }
}
