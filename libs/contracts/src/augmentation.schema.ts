import { z } from 'zod';
import { ONLY_WHEN_VALID } from './schema-guards';
import type { Inferred } from './named-schema';

const Factor = z.number().positive().max(100);

const augmentationSpecSchema = z
  .object({
    /** Multiplies every pixel after the random transforms (Keras applies rescale last too). */
    rescale: Factor.default(1),
    /** Rotation drawn from ±rotationRange degrees. */
    rotationRange: z.number().min(0).max(180).default(0),
    /** Horizontal shift: a fraction of the width when < 1, pixels when ≥ 1; drawn from ±range. */
    widthShiftRange: z.number().min(0).max(1000).default(0),
    /** Vertical shift, as widthShiftRange. */
    heightShiftRange: z.number().min(0).max(1000).default(0),
    /** Shear angle drawn from ±shearRange degrees (rows slide sideways in proportion to their height). */
    shearRange: z.number().min(0).max(80).default(0),
    /**
     * Keras's zoom: z in [1 - r, 1 + r] for a number, or [lo, hi]; drawn separately for width and
     * height. z < 1 zooms in (z = 0.5 shows the centre twice as large), as in Keras.
     */
    zoomRange: z
      .union([z.number().min(0).max(0.95), z.tuple([Factor, Factor])], {
        error: 'Expected a number from 0 to 0.95, or a [low, high] pair of zoom factors',
      })
      .default(0),
    horizontalFlip: z.boolean().default(false),
    verticalFlip: z.boolean().default(false),
    /** Brightness factor drawn from [lo, hi] (1 = unchanged); results are clipped to [0, 1]. */
    brightnessRange: z
      .tuple([z.number().min(0).max(10), z.number().min(0).max(10)])
      .nullable()
      .default(null),
    /** How points sampled outside the image are filled; Keras's default is 'nearest'. */
    fillMode: z.enum(['nearest', 'constant', 'reflect', 'wrap']).default('nearest'),
    /** The fill value for fillMode 'constant', in the images' units (0 black, 1 white). */
    cval: z.number().min(0).max(1).default(0),
  })
  .strict()
  .refine((s) => !Array.isArray(s.zoomRange) || s.zoomRange[0] <= s.zoomRange[1], {
    message: 'zoomRange [lo, hi] needs lo ≤ hi',
    path: ['zoomRange'],
    ...ONLY_WHEN_VALID,
  })
  .refine((s) => s.brightnessRange === null || s.brightnessRange[0] <= s.brightnessRange[1], {
    message: 'brightnessRange [lo, hi] needs lo ≤ hi',
    path: ['brightnessRange'],
    ...ONLY_WHEN_VALID,
  });
export interface AugmentationSpecSchemaType extends Inferred<typeof augmentationSpecSchema> {}
/**
 * On-the-fly augmentation, named and scaled like Keras's ImageDataGenerator so a Keras recipe
 * ports as is (`shear_range=0.2, zoom_range=0.2, horizontal_flip=True` → `{ shearRange: 0.2,
 * zoomRange: 0.2, horizontalFlip: true }`). Differences, on purpose: decoded images are already in
 * [0, 1], so Keras's `rescale=1/255` is `rescale: 1` here (the default); shear is in degrees as in
 * Keras 2.
 */
export const AugmentationSpecSchema: AugmentationSpecSchemaType = augmentationSpecSchema;

export type AugmentationSpec = z.infer<typeof AugmentationSpecSchema>;
export type FillMode = AugmentationSpec['fillMode'];
