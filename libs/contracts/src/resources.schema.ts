import { z } from 'zod';
import type { Inferred } from './named-schema';

/**
 * The resource classes a run may ask for. Each has a queue of its own; a worker consumes the
 * classes it can serve: `gpu` and `any` on a node with GPUs, `cpu` and `any` without
 * (`WORKER_RESOURCE_CLASSES` overrides).
 */
export const RESOURCE_CLASSES = ['any', 'cpu', 'gpu'] as const;
export type ResourceClass = (typeof RESOURCE_CLASSES)[number];

const resourcesSchema = z
  .object({
    accelerator: z.enum(RESOURCE_CLASSES).default('any'),
    memoryGb: z.number().positive().max(4096).optional(),
  })
  .strict();
export interface ResourcesSchemaType extends Inferred<typeof resourcesSchema> {}
/**
 * What a run needs to train: `accelerator` picks its class (`any`, the default, runs wherever a
 * worker is free); `memoryGb` is the memory its training needs on the device it trains on — GPU
 * memory on a GPU worker, RAM otherwise. A worker with less gives the job back for another.
 */
export const ResourcesSchema: ResourcesSchemaType = resourcesSchema;
export type Resources = z.infer<typeof ResourcesSchema>;

/** The highest priority a spec may name; operators may cap it lower per project (QUOTA_MAX_PRIORITY). */
export const MAX_PRIORITY = 100;

const prioritySchema = z.int().min(-MAX_PRIORITY).max(MAX_PRIORITY);
export interface PrioritySchemaType extends Inferred<typeof prioritySchema> {}
/** A run's priority: higher runs sooner; 0 by default; equal priorities run in submission order. */
export const PrioritySchema: PrioritySchemaType = prioritySchema;

/** Sweep runs come after single runs unless the sweep's base spec names a priority. */
export const SWEEP_RUN_PRIORITY = -10;

/** The fields of a spec that decide where and when its job runs. */
export interface Placement {
  resources?: { accelerator?: ResourceClass; memoryGb?: number };
  priority?: number;
}

export function resourceClassOf(spec: Placement): ResourceClass {
  return spec.resources?.accelerator ?? 'any';
}

export function priorityOf(spec: Placement): number {
  return spec.priority ?? 0;
}

export function isResourceClass(value: string): value is ResourceClass {
  return (RESOURCE_CLASSES as readonly string[]).includes(value);
}
