import type { Principal } from '../auth/principal';

/** Who holds a place: its key, and the project the key is confined to (null: an operator's key). */
export type PlaceHolder = Pick<Principal, 'keyId' | 'project'>;

/** Whose places a bound counts: one key's, one project's keys' together, or the whole process's. */
export type PlaceLevel = 'key' | 'project' | 'process';

/** A bound on places, and the setting that sets it (named in a refusal). */
export interface PlaceBound {
  max: number;
  setting: string;
}

/** The bounds a kind of place is held to, and how a refusal words a project's share. */
export interface PlaceBounds {
  perKey: PlaceBound;
  perProject: PlaceBound;
  perProcess: PlaceBound;
  /** "project p has n open": the words of a refusal for the project's bound. */
  projectHolds(project: string, open: number): string;
}

/**
 * Places of one kind (live streams, dataset uploads) held in this process: per key, per project
 * (the keys of one project together, so a project minting keys cannot take every place) and in
 * all. An operator's key (no project) is held to its own per-key places only, within the process's.
 */
export class HolderPlaces {
  private total = 0;
  private readonly perKey = new Map<string, number>();
  private readonly perProject = new Map<string, number>();

  /** Places held in this process now. */
  get held(): number {
    return this.total;
  }

  /** Which bound a new place of `holder` would pass, in words; null when it has one. */
  whyFull(holder: PlaceHolder, bounds: PlaceBounds): string | null {
    return this.full(holder, bounds)?.why ?? null;
  }

  /** The bound a new place of `holder` would pass (whose places are all held) and the words for it; null when it has one. */
  full({ keyId, project }: PlaceHolder, bounds: PlaceBounds): { level: PlaceLevel; why: string } | null {
    const { perKey, perProject, perProcess } = bounds;
    const mine = this.perKey.get(keyId) ?? 0;
    if (mine >= perKey.max) return { level: 'key', why: `this key has ${mine} open (${perKey.setting}=${perKey.max})` };
    const ours = project === null ? 0 : (this.perProject.get(project) ?? 0);
    if (project !== null && ours >= perProject.max)
      return {
        level: 'project',
        why: `${bounds.projectHolds(project, ours)} (${perProject.setting}=${perProject.max})`,
      };
    if (this.total >= perProcess.max)
      return { level: 'process', why: `this server has ${this.total} open (${perProcess.setting}=${perProcess.max})` };
    return null;
  }

  /** Takes a place for `holder` (whyFull said it has one); the returned function gives it back, once. */
  take({ keyId, project }: PlaceHolder): () => void {
    increment(this.perKey, keyId);
    if (project !== null) increment(this.perProject, project);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      decrement(this.perKey, keyId);
      if (project !== null) decrement(this.perProject, project);
    };
  }
}

function increment(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, name: string): void {
  const left = (counts.get(name) ?? 1) - 1;
  if (left <= 0) counts.delete(name);
  else counts.set(name, left);
}
