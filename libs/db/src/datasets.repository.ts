import { Prisma, type PrismaClient } from './generated/prisma/client';

/** Where a registered image folder lives: a path the workers share, or a prefix of the configured store. */
export type DatasetLocation = { kind: 'local'; path: string } | { kind: 's3'; prefix: string };

export interface DatasetRecord {
  id: string;
  name: string;
  /** Names are unique within a project. */
  project: string;
  location: DatasetLocation;
  uri: string;
  classNames: string[];
  counts: number[];
  createdAt: Date;
}

/** Thrown when a dataset name is taken: names are how people find their folders again. */
export class DatasetNameTakenError extends Error {
  constructor(readonly datasetName: string) {
    super(`A dataset named "${datasetName}" is already registered`);
    this.name = 'DatasetNameTakenError';
  }
}

function toRecord(row: { location: Prisma.JsonValue } & Omit<DatasetRecord, 'location'>): DatasetRecord {
  return { ...row, location: row.location as unknown as DatasetLocation };
}

/** Registered image folders (the registration API checked their layout before writing). */
export class DatasetsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(input: Omit<DatasetRecord, 'createdAt'>): Promise<DatasetRecord> {
    try {
      const row = await this.prisma.dataset.create({
        data: { ...input, location: input.location as unknown as Prisma.InputJsonValue },
      });
      return toRecord(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new DatasetNameTakenError(input.name);
      throw error;
    }
  }

  async get(id: string): Promise<DatasetRecord | null> {
    const row = await this.prisma.dataset.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** Newest first; one project's, or every project's when `project` is undefined. */
  async list(project?: string): Promise<DatasetRecord[]> {
    return (await this.prisma.dataset.findMany({ where: { project }, orderBy: { createdAt: 'desc' }, take: 1000 })).map(toRecord);
  }
}
