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
  const one = runs.count === 1;
  const message = `${what} is used by ${runs.count} run${one ? '' : 's'} not finished (${listed}): cancel ${one ? 'it' : 'them'} or let ${one ? 'it' : 'them'} end first`;
  return new ConflictException({ message, errors: [{ field, message }], activeRuns: runs });
}
