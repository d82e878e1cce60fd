import { isAbsolute } from 'node:path';
import { NameSchema } from '@trainyard/contracts';
import { InvalidObjectKeyError, internalPrefixProblem, normalizeObjectPrefix } from '@trainyard/storage';
import { z } from 'zod';

/** Body of POST /v1/datasets. A local path must be absolute: the API and the workers resolve it alike. */
export const DatasetRegistrationSchema = z.strictObject({
  name: NameSchema,
  location: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('local'),
      path: z
        .string()
        .min(1)
        .max(4096)
        .refine(isAbsolute, { message: 'expected an absolute path (the workers read the same path)' }),
    }),
    z.strictObject({
      kind: z.literal('s3'),
      /** A prefix of the configured object store, e.g. `datasets/flowers/`. */
      prefix: z
        .string()
        .min(1)
        .max(1024)
        .superRefine((prefix, ctx) => {
          // The rules live with the stores (normalizeObjectPrefix, internalPrefixProblem); here they
          // become a 400 naming the field, before anything is listed.
          let folder: string;
          try {
            folder = normalizeObjectPrefix(prefix);
          } catch (error) {
            if (!(error instanceof InvalidObjectKeyError)) throw error;
            ctx.addIssue({
              code: 'custom',
              message: `expected a folder of the object store such as datasets/flowers/: ${error.reason}`,
            });
            return;
          }
          const internal = internalPrefixProblem(folder);
          if (internal) ctx.addIssue({ code: 'custom', message: `expected a folder of your own: it ${internal}` });
        }),
    }),
  ]),
});
export type DatasetRegistration = z.infer<typeof DatasetRegistrationSchema>;

export const DatasetIdSchema = z.uuid().toLowerCase();
