import { api } from './api';

/**
 * Which of `ids` (lowercase run ids) are still recorded and visible to the reader's key, each asked
 * as the run list's `idPrefix` of the whole id, archived runs included: a run that is gone answers
 * a 200 with no row, where its own routes answer a 404 (which the browser logs as a console error).
 * One request per id, at once: the callers ask about a comparison's runs (at most the API's 20) or
 * one run.
 */
export async function runsStillRecorded(ids: string[]): Promise<Set<string>> {
  const found = await Promise.all(
    ids.map(async (id) => {
      const page = await api.listRuns({ idPrefix: id.replace(/-/g, ''), archived: 'any', limit: 1 });
      return page.items.some((run) => run.id === id) ? id : null;
    }),
  );
  return new Set(found.filter((id): id is string => id !== null));
}
