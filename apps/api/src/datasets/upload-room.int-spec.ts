import { randomUUID } from 'node:crypto';
import { UploadReservationsRepository, type Database } from '@trainyard/db';
import { useMigratedDatabase } from '@trainyard/db/testing';
import { NoRoom, UploadRoom } from './upload-room';

/** UploadRoom over the real reservations table: a body without a declared length sets room aside a step at a time. */
describe('UploadRoom (PostgreSQL)', () => {
  let db: Database;
  let reservations: UploadReservationsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    reservations = new UploadReservationsRepository(db.prisma);
  });

  const heldBy = async (id: string) =>
    Number((await db.prisma.uploadReservation.findUnique({ where: { id } }))?.bytes ?? -1);
  const room = (project: string, id = randomUUID(), perUpload = 1_000) =>
    new UploadRoom(reservations, { id, project, defaultQuota: 1_000, perUpload, stepBytes: 100 });

  it('sets aside a step ahead of what a body without a length has read, and refuses once the room is passed', async () => {
    const id = randomUUID();
    const streamed = room('steps', id);
    await streamed.open(undefined);
    expect(await heldBy(id)).toBe(100);
    await streamed.cover(100);
    expect(await heldBy(id)).toBe(100);
    await streamed.cover(101);
    expect(await heldBy(id)).toBe(201);

    // Another upload takes 700 of the 1,000: 99 are left for this one's growth past 201.
    const other = room('steps');
    await other.open(700);
    await streamed.cover(250);
    expect(await heldBy(id)).toBe(300);
    await expect(streamed.cover(301)).rejects.toThrow(
      /QUOTA_PROJECT_UPLOAD_BYTES \(1000 bytes\): its datasets uploaded hold 0 bytes and its other uploads in progress have 700 set aside, leaving 300/,
    );

    await other.close();
    await streamed.cover(301);
    expect(await heldBy(id)).toBe(401);
    await streamed.close();
    await streamed.close();
    expect(await heldBy(id)).toBe(-1);
  });

  it('refuses a declared length past DATASET_UPLOAD_MAX_BYTES or the room before setting anything aside', async () => {
    const id = randomUUID();
    await expect(room('declared', id, 500).open(501)).rejects.toThrow(
      /larger than DATASET_UPLOAD_MAX_BYTES \(500 bytes\)/,
    );
    const other = room('declared');
    await other.open(600);
    await expect(room('declared', id).open(401)).rejects.toBeInstanceOf(NoRoom);
    expect(await heldBy(id)).toBe(-1);
    // A body without a length past DATASET_UPLOAD_MAX_BYTES, however much room is left.
    const streamed = room('declared', id, 350);
    await streamed.open(undefined);
    await streamed.cover(350);
    await expect(streamed.cover(351)).rejects.toThrow(/DATASET_UPLOAD_MAX_BYTES \(350 bytes\)/);
    await Promise.all([streamed.close(), other.close()]);
    // A declared length of 0 (a body the tar reader will refuse) leaves no row behind either.
    const empty = room('declared', id);
    await empty.open(0);
    expect(await heldBy(id)).toBe(0);
    await empty.close();
    expect(await heldBy(id)).toBe(-1);
  });

  it('renews its reservation while the upload lasts', async () => {
    const id = randomUUID();
    const slow = new UploadRoom(reservations, {
      id,
      project: 'renew',
      defaultQuota: 1_000,
      perUpload: 1_000,
      renewMs: 50,
    });
    await slow.open(10);
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    await db.prisma.uploadReservation.update({ where: { id }, data: { renewedAt: longAgo } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const row = await db.prisma.uploadReservation.findUnique({ where: { id } });
    expect(row!.renewedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    await slow.close();
  });
});
