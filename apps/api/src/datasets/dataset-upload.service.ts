import { randomUUID } from 'node:crypto';
import { finished, Transform, type Readable } from 'node:stream';
import {
  ConflictException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { extract } from 'tar-stream';
import type { TrainyardConfig } from '@trainyard/config';
import { DATASET_MAX_CLASSES, type DatasetUploaded, type SkippedUploadEntry } from '@trainyard/contracts';
import { DatasetsRepository, UploadReservationsRepository } from '@trainyard/db';
import { IMAGE_SIGNATURE_BYTES, notAnImage, uploadFolder, type ObjectStore } from '@trainyard/storage';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import { watchBodyRate, type SlowBody } from '../http/body-rate-floor';
import { DatasetsService } from './datasets.service';
import { readEntryHead } from './entry-head';
import { UploadClassFolders, type FoldersWithoutImages } from './upload-class-folders';
import { decideUploadEntry } from './upload-entry';
import { NoRoom, UploadRoom } from './upload-room';

/** How many files left out an upload's answer names (it counts them all). */
export const SKIPPED_LISTED = 100;
/** Where an upload's images must be, as its refusals say. */
const IMAGE_LAYOUT = '<class>/<image>.png|jpg|jpeg|webp';
/** A tar's unit: headers and data are padded to it, and an archive ends with two of zeros. */
const TAR_BLOCK = 512;

class UploadRefused extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The object store refused an entry: a failure of ours, logged with the store's reason. */
class StoreFailed extends Error {
  constructor(
    readonly key: string,
    override readonly cause: Error,
  ) {
    super(`could not store ${key}`);
  }
}

/**
 * The paths an upload stores, so that one name is never both a file and a folder (`cat/1.png` and
 * `cat/1.png/2.png`): a folder of images on disk or under an S3 prefix cannot hold both.
 */
class EntryLayout {
  private readonly files = new Set<string>();
  private readonly folders = new Set<string>();

  /**
   * Records `path`: `clash` in words when it or a folder above it is already the other kind;
   * `again` when the archive held it before (a tar may: the later one wins, as when extracted).
   */
  add(path: string): { clash?: string; again?: boolean } {
    if (this.files.has(path)) return { again: true };
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (this.files.has(folder)) return { clash: `"${folder}" is both a file and a folder in the archive` };
    }
    if (this.folders.has(path)) return { clash: `"${path}" is both a file and a folder in the archive` };
    this.files.add(path);
    for (let i = 1; i < parts.length; i++) this.folders.add(parts.slice(0, i).join('/'));
    return {};
  }
}

/**
 * Turns an uploaded tar of an image folder (one subfolder per class) into a registered dataset:
 * its images are streamed, one at a time, into a folder of the object store of their own
 * (`datasets/uploads/<id>/`), then registered like any S3 folder (layout checked by listing). An
 * upload that is refused or fails part-way leaves nothing behind: what it stored is deleted. No
 * image is held whole: its signature is read from its first bytes and the rest goes on to the
 * store as it arrives (`ObjectStore.putStream`: at most one S3 part in memory), so an open upload
 * costs the API about 5 MiB however large its images, and DatasetUploadLimiter bounds how many
 * are open. The bytes its body may carry are set aside under the project's quota before they are
 * read (UploadRoom), so uploads open at once cannot pass it together.
 */
@Injectable()
export class DatasetUploadService {
  private readonly logger = new Logger(DatasetUploadService.name);

  constructor(
    private readonly datasets: DatasetsService,
    private readonly repository: DatasetsRepository,
    private readonly reservations: UploadReservationsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async upload(
    body: Readable,
    name: string,
    project: string,
    declaredBytes: number | undefined,
    /** Whether another upload waits for this one's place: the rate floor cuts a slow one only then (DatasetUploadLimiter.wanted). */
    contended: () => boolean,
  ): Promise<DatasetUploaded> {
    // Before a byte is stored: a taken name would only be found after the whole upload.
    if (await this.repository.nameTaken(project, name)) throw taken(name);
    // One folder per upload, never reused (libs/storage owns the prefix, which nothing else may name).
    const id = randomUUID();
    const prefix = uploadFolder(id);
    const { datasetUploadBytes: perUpload, projectUploadBytes: defaultQuota } = this.config.limits;
    const room = new UploadRoom(this.reservations, { id, project, defaultQuota, perUpload });
    // A declared length past the room is refused before a byte is read.
    await room.open(declaredBytes).catch((error: unknown) => {
      throw error instanceof NoRoom ? refusal(new UploadRefused(413, 'body', error.message)) : error;
    });
    const stored: string[] = [];
    try {
      const { images, bytes, ignored, notImages } = await this.storeEntries(
        body,
        prefix,
        stored,
        room,
        `"${name}" of project ${project}`,
        contended,
      );
      this.logger.log(
        `Dataset upload "${name}": ${images} images stored under ${prefix} (${notImages.count} files that are no images and ${ignored} other entries left out)`,
      );
      const view = await this.datasets.registerUpload(name, prefix, project, bytes).catch((error: unknown) => {
        // A single class because the files of the others were none: say so.
        throw notImages.count > 0 && error instanceof UnprocessableEntityException
          ? withNotImages(error, notImages.count, notImages.listed[0]!)
          : error;
      });
      return { ...view, skipped: notImages.listed, skippedCount: notImages.count };
    } catch (error) {
      body.resume(); // the rest of the body is read and dropped, so the answer reaches the client
      await this.store
        .delete(stored)
        .catch((e: Error) => this.logger.warn(`upload ${prefix}: cleanup failed: ${e.message}`));
      throw error instanceof UploadRefused ? refusal(error) : error;
    } finally {
      // Its bytes are the dataset's now, or were deleted.
      await room.close().catch((e: Error) => this.logger.warn(`upload ${prefix}: its reservation stays: ${e.message}`));
    }
  }

  /**
   * Every byte of the body counts against DATASET_UPLOAD_MAX_BYTES — headers, padding and the
   * entries left out as much as the images — and the entries left out count against
   * FOLDER_WALK_MAX_FILES like the images do, so no tar (say, chunked, without a Content-Length,
   * of endless `cat/n.txt`) is read further than the limits.
   */
  private async storeEntries(
    body: Readable,
    prefix: string,
    stored: string[],
    room: UploadRoom,
    upload: string,
    contended: () => boolean,
  ): Promise<{
    images: number;
    /** Bytes of the images stored (an entry the archive held twice: its last copy, as stored). */
    bytes: number;
    ignored: number;
    notImages: { listed: SkippedUploadEntry[]; count: number };
  }> {
    const sizes = new Map<string, number>();
    const maxFiles = this.config.paths.walkMaxFiles;
    const entries = extract();
    // An UploadRefused, or a failure of ours while the body was read (the database's, setting room aside).
    let refused: Error | null = null;
    const refuse = (refusal: Error): Error => {
      refused ??= refusal;
      entries.destroy(refused);
      return refused;
    };
    let received = 0;
    const { datasetUploadMinBytesPerSecond: minBytesPerSecond, datasetUploadRateWindowMs: windowMs } =
      this.config.limits;
    // Judged while the body streams: a client cut for it is answered (if it still reads) and its place freed.
    const rate = watchBodyRate(body, { minBytesPerSecond, windowMs, contended }, (slow) => {
      this.logger.warn(`Dataset upload ${upload} (${prefix}): ${tooSlow(slow, minBytesPerSecond)}; cut`);
      refuse(new UploadRefused(408, 'body', tooSlow(slow, minBytesPerSecond)));
    });
    // The body's last block: a tar ends with blocks of zeros, what tells a whole archive from one
    // cut at an entry's end (which tar-stream, like GNU tar, reads as a shorter archive).
    let tail = Buffer.alloc(0);
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        rate.count(chunk.length);
        tail = Buffer.from(
          chunk.length >= TAR_BLOCK ? chunk.subarray(-TAR_BLOCK) : Buffer.concat([tail, chunk]).subarray(-TAR_BLOCK),
        );
        // Not passed on until its bytes are set aside: the tar is parsed no further than the room.
        room.cover(received).then(
          () => done(null, chunk),
          (error: unknown) => done(noRoomRefusal(error)),
        );
      },
    });
    counted.once('error', (error) => refuse(error));
    body.pipe(counted).pipe(entries);
    // A client gone mid-body (or cut by STALLED_CLIENT_MS) fails the entry being read, and with it
    // the store's write of it: nothing waits for bytes that will not come.
    finished(body, (error) => {
      if (error) entries.destroy(error);
    });
    let declared = 0;
    let ignored = 0;
    const layout = new EntryLayout();
    const classFolders = new UploadClassFolders();
    const notImages = { listed: [] as SkippedUploadEntry[], count: 0 };
    const leftOut = () => ignored + notImages.count;
    try {
      for await (const entry of entries) {
        const decision = decideUploadEntry(entry.header);
        if (decision.action === 'refuse') throw new UploadRefused(422, 'body', decision.reason);
        // Before a byte of the class past the cap is stored: the registration would refuse it anyway.
        if (decision.classFolder !== undefined && classFolders.wouldPass(decision.classFolder, DATASET_MAX_CLASSES))
          throw new UploadRefused(422, 'body', tooManyClasses());
        // Judged from its header, before a byte of it is read.
        declared += entry.header.size ?? 0;
        await room.cover(declared).catch((error: unknown) => {
          throw refuse(noRoomRefusal(error));
        });
        if (decision.action === 'skip' && decision.leftOut && decision.classFolder !== undefined) {
          entry.resume();
          notImages.count++;
          if (leftOut() > maxFiles) throw refuse(tooManyLeftOut(maxFiles));
          if (notImages.listed.length < SKIPPED_LISTED) notImages.listed.push(decision.leftOut);
          classFolders.notImage(decision.classFolder, decision.leftOut);
          continue;
        }
        if (decision.action === 'skip') {
          if (decision.classFolder !== undefined) classFolders.seen(decision.classFolder);
          ignored++;
          if (leftOut() > maxFiles) throw refuse(tooManyLeftOut(maxFiles));
          entry.resume();
          continue;
        }
        if (stored.length >= maxFiles)
          throw new UploadRefused(422, 'body', `More than ${maxFiles} images (FOLDER_WALK_MAX_FILES)`);
        // tar-stream's entries yield Buffers (its types say unknown).
        const { head, bytes } = await readEntryHead(entry as AsyncIterable<Buffer>, IMAGE_SIGNATURE_BYTES);
        // Named as an image, but what a training run would fail to decode: said now, not stored.
        const problem = notAnImage(head);
        if (problem) {
          for await (const _ of bytes); // read and dropped: the tar goes on
          notImages.count++;
          if (leftOut() > maxFiles) throw refuse(tooManyLeftOut(maxFiles));
          const skipped = { entry: decision.path, reason: problem };
          if (notImages.listed.length < SKIPPED_LISTED) notImages.listed.push(skipped);
          classFolders.notImage(decision.classFolder, skipped);
          continue;
        }
        const placed = layout.add(decision.path);
        if (placed.clash) throw new UploadRefused(422, 'body', placed.clash);
        const key = `${prefix}${decision.path}`;
        // Counted before it is written: a write that failed after the store kept it is deleted too.
        if (!placed.again) stored.push(key);
        let unread: unknown = null;
        const fromArchive = async function* () {
          try {
            yield* bytes;
          } catch (error) {
            unread = error ?? new Error('the entry could not be read');
            throw error;
          }
        };
        // The store's own failure is not the archive's: it is answered as a failure of ours, never
        // a 400 quoting the store's paths or endpoint. The archive's (a body cut short, a client
        // gone, a refusal) is answered as such below.
        await this.store.putStream(key, fromArchive(), entry.header.size ?? 0).catch((error: Error) => {
          throw unread ?? new StoreFailed(key, error);
        });
        sizes.set(key, entry.header.size ?? 0);
        classFolders.stored(decision.classFolder);
      }
      if (tail.length < TAR_BLOCK || tail.some((byte) => byte !== 0))
        throw new UploadRefused(
          400,
          'body',
          `Not a whole tar archive: it ends without the blocks of zeros that end a tar, so it was cut short (after ${received} bytes); send the whole archive`,
        );
    } catch (error) {
      // A refusal while an entry was being read surfaces as that entry's error: the refusal is the answer.
      if (refused) throw refused;
      if (error instanceof UploadRefused) throw error;
      if (error instanceof StoreFailed) {
        this.logger.error(`upload ${prefix}: could not store ${error.key}: ${error.cause}`);
        throw new ServiceUnavailableException({
          message: 'The object store did not take the upload; try again shortly',
        });
      }
      // tar-stream's own errors: a body that is not a tar, or ends part-way through an entry.
      throw new UploadRefused(400, 'body', `Not a readable tar archive: ${(error as Error).message}`);
    } finally {
      rate.stop();
      body.unpipe(counted);
      counted.unpipe(entries);
    }
    if (refused) throw refused;
    if (stored.length === 0) {
      const first = notImages.listed[0];
      throw new UploadRefused(
        422,
        'body',
        `No image inside a class folder (${IMAGE_LAYOUT})` +
          (first ? `: ${notImagesText(notImages.count, first)}` : ''),
      );
    }
    const empty = classFolders.withoutImages();
    if (empty) throw new UploadRefused(422, 'body', withoutImagesText(empty));
    let bytes = 0;
    for (const size of sizes.values()) bytes += size;
    return { images: stored.length, bytes, ignored, notImages };
  }
}

/** `class folder "yellow" has no image inside (…)`, with the files there that were named as images but are none. */
function withoutImagesText({ listed, count, notImages }: FoldersWithoutImages): string {
  const names =
    listed.map((name) => JSON.stringify(name)).join(', ') + (count > listed.length ? `, … (${count} in all)` : '');
  const what = count === 1 ? `class folder ${names} has` : `class folders ${names} have`;
  return (
    `${what} no image inside (${IMAGE_LAYOUT})` +
    (notImages.first ? `: ${notImagesText(notImages.count, notImages.first)}` : '')
  );
}

function notImagesText(count: number, first: SkippedUploadEntry): string {
  return `${count} file(s) named as images are none and were left out, e.g. ${JSON.stringify(first.entry)}: ${first.reason}`;
}

/** A registration refusal (a class without images, a single class) with the files that were left out added. */
function withNotImages(
  error: UnprocessableEntityException,
  count: number,
  first: SkippedUploadEntry,
): UnprocessableEntityException {
  const response = error.getResponse() as { message?: string; errors?: { field: string; message: string }[] };
  return new UnprocessableEntityException({
    ...response,
    errors: [...(response.errors ?? []), { field: 'body', message: notImagesText(count, first) }],
  });
}

function tooManyClasses(): string {
  return `More than ${DATASET_MAX_CLASSES} class folders: a dataset may have at most ${DATASET_MAX_CLASSES} classes`;
}

function tooManyLeftOut(maxFiles: number): UploadRefused {
  return new UploadRefused(
    422,
    'body',
    `More than ${maxFiles} entries that are no images (folders, other files; FOLDER_WALK_MAX_FILES)`,
  );
}

function tooSlow({ bytesPerSecond, windowMs }: SlowBody, minBytesPerSecond: number): string {
  return (
    `The upload arrived at ${bytesPerSecond} bytes/s over the last ${Math.round(windowMs / 1000)} s, below ` +
    `DATASET_UPLOAD_MIN_BYTES_PER_SECOND (${minBytesPerSecond} bytes/s), while another upload waited for its place: ` +
    'send it over a faster link, try again when the server is less busy, or ask an operator to lower the floor'
  );
}

/** A 413 for an upload its room refused; any other error (the database's) as it is. */
function noRoomRefusal(error: unknown): Error {
  return error instanceof NoRoom ? new UploadRefused(413, 'body', error.message) : (error as Error);
}

function taken(name: string): ConflictException {
  const message = `A dataset named "${name}" is already registered`;
  return new ConflictException({ message, errors: [{ field: 'name', message }] });
}

function refusal(error: UploadRefused): HttpException {
  return new HttpException(
    { message: 'The upload cannot become a dataset', errors: [{ field: error.field, message: error.message }] },
    error.status,
  );
}
