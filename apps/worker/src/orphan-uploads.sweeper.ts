import { Inject, Injectable, Logger } from '@nestjs/common';
import { DatasetsRepository, UPLOAD_RESERVATION_HELD_MS } from '@trainyard/db';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { isUploadFolder, UPLOADS_ROOT, type ObjectStore } from '@trainyard/storage';

/**
 * An upload folder no dataset names whose newest object is older than this is an orphan. An
 * upload stores each image as it arrives and registers its folder at the end; one whose client
 * stalls is cut after STALLED_CLIENT_MS (a minute) and deletes what it stored. A day of silence
 * is an API process that died mid-upload (its cleanup never ran), never an upload still going:
 * the same day after which such an upload's room under its project's quota stops counting, so
 * its images count until they are swept.
 */
export const ORPHAN_UPLOAD_GRACE_MS = UPLOAD_RESERVATION_HELD_MS;
/** Upload folders whose datasets are looked up in one query. */
export const ORPHAN_UPLOAD_SWEEP_FOLDERS = 500;

export interface UploadSweepOptions {
  now?: Date;
  graceMs?: number;
}

/**
 * Deletes the images of uploads that never became a dataset: the folders under
 * `datasets/uploads/` that no dataset row names and that nothing was written to for
 * ORPHAN_UPLOAD_GRACE_MS, left by an API process that died mid-upload. Nothing else could find
 * or remove them (no row names them, and no request may name the uploads' root). Run by the
 * reconciler about once an hour (UPLOAD_SWEEP_EVERY_MS).
 */
@Injectable()
export class OrphanUploadSweeper {
  private readonly logger = new Logger(OrphanUploadSweeper.name);

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly datasets: DatasetsRepository,
  ) {}

  /** The folders whose objects were deleted. */
  async sweep(options: UploadSweepOptions = {}): Promise<string[]> {
    const now = (options.now ?? new Date()).getTime();
    const graceMs = options.graceMs ?? ORPHAN_UPLOAD_GRACE_MS;
    const folders = (await this.store.subfolders(UPLOADS_ROOT)).filter(isUploadFolder);
    const swept: string[] = [];
    for (let at = 0; at < folders.length; at += ORPHAN_UPLOAD_SWEEP_FOLDERS) {
      const page = folders.slice(at, at + ORPHAN_UPLOAD_SWEEP_FOLDERS);
      const registered = await this.datasets.registeredPrefixes(page);
      for (const folder of page.filter((f) => !registered.has(f))) {
        const objects = await this.store.list(folder);
        if (objects.length === 0) continue;
        const newest = Math.max(0, ...objects.map((o) => o.lastModified.getTime()));
        if (now - newest < graceMs) continue;
        // Registered meanwhile (an upload that was only slow after all): its images stay.
        if ((await this.datasets.registeredPrefixes([folder])).size > 0) continue;
        await this.store.delete(objects.map((o) => o.key));
        swept.push(folder);
        this.logger.warn(
          `upload folder ${this.store.uri(folder)}: ${objects.length} objects deleted, no dataset names it and nothing was written to it for ${Math.round(graceMs / 3_600_000)} h (an API process that stopped mid-upload left it)`,
        );
      }
    }
    return swept;
  }
}
