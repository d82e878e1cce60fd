import { ConflictException } from '@nestjs/common';
import type { ActiveRuns } from '@trainyard/contracts';

/**
 * The 409 of a deletion refused because unfinished runs name what it would delete (`what`:
 * "Dataset <id>", "Version 2 of model \"digits\""): the field at fault, a few of the runs by id and
 * how many there are, in the message and as `activeRuns`.
 */
export function inUseByRuns(what: string, field: string, runs: ActiveRuns): ConflictException {
  const more = runs.count - runs.ids.length;
  const listed = `${runs.ids.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  const message = `${what} is used by ${runs.count} run${runs.count === 1 ? '' : 's'} not finished (${listed}): cancel them or let them end first`;
  return new ConflictException({ message, errors: [{ field, message }], activeRuns: runs });
}
