import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** Body of POST /v1/datasets. A local path must be absolute: the API and the workers resolve it alike. */
export const DatasetRegistrationSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  location: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('local'),
      path: z.string().min(1).max(4096).refine(isAbsolute, { message: 'expected an absolute path (the workers read the same path)' }),
    }),
    z.strictObject({
      kind: z.literal('s3'),
      /** A prefix of the configured object store, e.g. `datasets/flowers/`. */
      prefix: z
        .string()
        .min(1)
        .max(1024)
        .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), { message: "expected a relative prefix without '..'" }),
    }),
  ]),
});
export type DatasetRegistration = z.infer<typeof DatasetRegistrationSchema>;

export const DatasetIdSchema = z.uuid();
