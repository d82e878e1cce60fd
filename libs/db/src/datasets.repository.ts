import type { DatasetView } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { datasetView } from './views';

/** What registration writes: the folder as checked (the database dates it, the view sums its counts). */
export type DatasetCreation = Omit<DatasetView, 'createdAt' | 'images'>;

/** Thrown when a dataset name is taken: names are how people find their folders again. */
export class DatasetNameTakenError extends Error {
  constructor(readonly datasetName: string) {
    super(`A dataset named "${datasetName}" is already registered`);
    this.name = 'DatasetNameTakenError';
  }
}

/** Registered image folders (the registration API checked their layout before writing). */
export class DatasetsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(input: DatasetCreation): Promise<DatasetView> {
    try {
      const row = await this.prisma.dataset.create({
        data: { ...input, location: input.location as unknown as Prisma.InputJsonValue },
      });
      return datasetView(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
        throw new DatasetNameTakenError(input.name);
      throw error;
    }
  }

  async get(id: string): Promise<DatasetView | null> {
    const row = await this.prisma.dataset.findUnique({ where: { id } });
    return row ? datasetView(row) : null;
  }

  /** Whether the project has a dataset of that name (names are unique per project). */
  async nameTaken(project: string, name: string): Promise<boolean> {
    return (await this.prisma.dataset.count({ where: { project, name } })) > 0;
  }

  /** Newest first; one project's, or every project's when `project` is undefined. */
  async list(project?: string): Promise<DatasetView[]> {
    return (await this.prisma.dataset.findMany({ where: { project }, orderBy: { createdAt: 'desc' }, take: 1000 })).map(
      datasetView,
    );
  }
}
