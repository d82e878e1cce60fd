import type { AugmentationSpec } from '@trainyard/contracts';

// The schema lives in libs/contracts now (fine-tune specs carry it); re-exported so this library's API is unchanged.
export { AugmentationSpecSchema, type AugmentationSpec, type FillMode } from '@trainyard/contracts';

/** True when the spec changes nothing, so a pipeline can skip the per-pixel pass. */
export function isIdentityAugmentation(spec: AugmentationSpec): boolean {
  const zoom = spec.zoomRange;
  return (
    spec.rescale === 1 &&
    spec.rotationRange === 0 &&
    spec.widthShiftRange === 0 &&
    spec.heightShiftRange === 0 &&
    spec.shearRange === 0 &&
    (Array.isArray(zoom) ? zoom[0] === 1 && zoom[1] === 1 : zoom === 0) &&
    !spec.horizontalFlip &&
    !spec.verticalFlip &&
    (spec.brightnessRange === null || (spec.brightnessRange[0] === 1 && spec.brightnessRange[1] === 1))
  );
}
