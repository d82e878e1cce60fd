import { Prisma, type PrismaClient } from './generated/prisma/client';

/**
 * How long a reservation counts without being renewed: an upload renews its own while it lasts,
 * so one silent this long is an API process that died mid-upload. A day, as long as the
 * reconciler leaves such an upload's images in the store (the worker's ORPHAN_UPLOAD_GRACE_MS):
 * the bytes it stored count until they can be swept.
 */
export const UPLOAD_RESERVATION_HELD_MS = 24 * 60 * 60_000;

/**
 * What the quota counts of `project`'s uploads (a parameter or a column), one rule for a
 * reservation and a read: its uploaded datasets' bytes as `uploaded`, and as `reserved` what its
 * uploads in progress renewed within UPLOAD_RESERVATION_HELD_MS set aside, upload `except`'s left
 * out (the one growing its own).
 */
function heldColumns(project: Prisma.Sql, except: string | null = null): Prisma.Sql {
  return Prisma.sql`
    (SELECT COALESCE(SUM(d."uploaded_bytes"), 0) FROM "datasets" d WHERE d."project" = ${project})::float8 AS "uploaded",
    (SELECT COALESCE(SUM(r."bytes"), 0) FROM "upload_reservations" r WHERE r."project" = ${project}
      AND r."renewed_at" >= now() - make_interval(secs => ${UPLOAD_RESERVATION_HELD_MS / 1000})
      AND r."id" IS DISTINCT FROM ${except}::uuid)::float8 AS "reserved"`;
}

/** Namespace of the per-project advisory locks taken while a project's room is counted and set aside (two-int form). */
const UPLOAD_ROOM_LOCK_NAMESPACE = 72_707_376;

export interface ReservationRequest {
  /** The upload's uuid (its folder's): one reservation an upload, grown in place. */
  id: string;
  project: string;
  /** QUOTA_PROJECT_UPLOAD_BYTES: the quota of a project without its own (project_limits.max_upload_bytes). */
  defaultQuota: number;
  /** The least the upload needs set aside in all (what it has read so far, or its declared length). */
  atLeast: number;
  /** The most worth setting aside in all now; less is granted when the room is less, but never less than `atLeast`. */
  atMost: number;
}

export type ReservationOutcome =
  | { granted: number }
  /**
   * The quota that held (the project's own when `own`), and what held its room: the project's
   * uploaded datasets, and its other uploads in progress.
   */
  | { refused: { quota: number; own: boolean; uploaded: number; reserved: number } };

/** What a project's uploads hold: its uploaded datasets' bytes, and what its uploads in progress set aside. */
export interface UploadUsage {
  uploaded: number;
  reserved: number;
}

/**
 * The room uploads in progress hold under their project's QUOTA_PROJECT_UPLOAD_BYTES. Each sets
 * aside the bytes its body may bring before it reads them; the room of a project is the quota less
 * its uploaded datasets' bytes and what its other uploads set aside, counted and taken under the
 * project's advisory lock, so uploads open at once on any number of replicas cannot pass the quota
 * together. A reservation that became a dataset is counted twice for the moment between the two
 * commits: never too little.
 */
export class UploadReservationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Sets aside between `atLeast` and `atMost` bytes in all for upload `id` (replacing what it held),
   * as much as the room allows, or refuses when the room is less than `atLeast`. Deletes the
   * project's reservations not renewed for UPLOAD_RESERVATION_HELD_MS first.
   */
  reserve(request: ReservationRequest): Promise<ReservationOutcome> {
    const { id, project, defaultQuota, atLeast, atMost } = request;
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${UPLOAD_ROOM_LOCK_NAMESPACE}::int4, hashtext(${project}))`;
      await tx.$executeRaw`
        DELETE FROM "upload_reservations"
        WHERE "project" = ${project} AND "renewed_at" < now() - make_interval(secs => ${UPLOAD_RESERVATION_HELD_MS / 1000})`;
      // One statement, one snapshot: a dataset committed with its reservation not yet deleted is counted twice, never not at all.
      const [held] = await tx.$queryRaw<{ own: number | null; uploaded: number; reserved: number }[]>`
        SELECT
          (SELECT "max_upload_bytes" FROM "project_limits" WHERE "project" = ${project})::float8 AS "own",
          ${heldColumns(Prisma.sql`${project}`, id)}`;
      const { own, uploaded, reserved } = held!;
      const quota = own ?? defaultQuota;
      const granted = Math.min(atMost, quota - uploaded - reserved);
      if (granted < atLeast) return { refused: { quota, own: own !== null, uploaded, reserved } };
      await tx.$executeRaw`
        INSERT INTO "upload_reservations" ("id", "project", "bytes", "renewed_at")
        VALUES (${id}::uuid, ${project}, ${granted}, now())
        ON CONFLICT ("id") DO UPDATE SET "bytes" = EXCLUDED."bytes", "renewed_at" = EXCLUDED."renewed_at"`;
      return { granted };
    });
  }

  /** What each of `projects`' uploads hold now (reservations not renewed for UPLOAD_RESERVATION_HELD_MS left out). */
  async usage(projects: string[]): Promise<Map<string, UploadUsage>> {
    const rows = await this.prisma.$queryRaw<({ project: string } & UploadUsage)[]>`
      SELECT p."project", ${heldColumns(Prisma.raw('p."project"'))}
      FROM unnest(${projects}::text[]) AS p("project")`;
    return new Map(rows.map(({ project, ...usage }) => [project, usage]));
  }

  /** Bytes of images each project's uploaded datasets hold, for the projects holding any (a scrape's gauge). */
  uploadedByProject(): Promise<{ project: string; bytes: number }[]> {
    return this.prisma.$queryRaw`
      SELECT "project", SUM("uploaded_bytes")::float8 AS "bytes" FROM "datasets"
      WHERE "uploaded_bytes" IS NOT NULL GROUP BY "project" ORDER BY "project"`;
  }

  /** Marks upload `id` as still going, so its reservation keeps counting. */
  async renew(id: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE "upload_reservations" SET "renewed_at" = now() WHERE "id" = ${id}::uuid`;
  }

  /** Gives upload `id`'s room back: it ended, stored as a dataset or deleted. */
  async release(id: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM "upload_reservations" WHERE "id" = ${id}::uuid`;
  }
}
