/** The filesystem's words for full: no space (ENOSPC, no inodes left included) and over a disk quota (EDQUOT). */
const FULL = { ENOSPC: 'no space left on the device', EDQUOT: 'the disk quota is exceeded' } as const;

/** The `FULL` code of `error` (a Node system error), if it is one. */
export function diskFullCode(error: unknown): keyof typeof FULL | undefined {
  const code = typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && Object.hasOwn(FULL, code) ? (code as keyof typeof FULL) : undefined;
}

/**
 * A local object store's write refused because its disk is full: names the key, the file and the
 * code, where Node's own message ("ENOSPC: no space left on device, write") names none of them.
 * Nothing of the object was kept (its temp file is removed, the old object stays). Transient
 * (isTransientStorageError), as MinIO's XMinioStorageFull is: a run waits for room as for an
 * unreachable store (WORKER_STORE_OUTAGE_PATIENCE_MS) rather than spending its attempts in seconds.
 */
export class StoreFullError extends Error {
  readonly code: keyof typeof FULL;

  constructor(
    readonly key: string,
    readonly path: string,
    code: keyof typeof FULL,
    cause: unknown,
  ) {
    super(
      `cannot write ${JSON.stringify(key)} to ${path}: ${FULL[code]} (${code}): the disk holding the local object store is full; free space there`,
      { cause },
    );
    this.name = 'StoreFullError';
    this.code = code;
  }
}
