/**
 * A schema's own inferred type, to be given a name: `export interface FooSchemaType extends
 * Inferred<typeof fooSchema> {}` and `export const FooSchema: FooSchemaType = fooSchema`.
 *
 * Why: tsc writes a declaration's type out in full wherever it cannot name it, and zod's inferred
 * types have no name, so every schema built from another (a run spec from its dataset, training and
 * model; an answer from a spec) carried a copy of all of it, again in every file that composed or
 * re-exported it: @trainyard/client's declarations were 7 MB. An interface is always referred to by
 * its name, so each schema's type is spelled out once, in its own file. The type is the same type
 * (`z.infer`, `z.input`, `.shape`, `.extend()` see no difference); tools/client-package.int-spec.ts
 * checks what a client sees.
 */
export type Inferred<T> = T;
