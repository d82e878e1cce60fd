import { NotFoundException } from '@nestjs/common';

/** The one 404 for an id that names nothing (or something of another project: the same answer). */
export function notFound(
  what: 'run' | 'pipeline' | 'sweep' | 'dataset' | 'API key' | 'project' | 'model',
  id: string,
): NotFoundException {
  return new NotFoundException({ message: `No ${what} with id ${id}` });
}
