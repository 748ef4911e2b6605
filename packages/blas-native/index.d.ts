/** The native functions of build/blas.node. */
export interface NativeBlas {
  /**
   * Row-major C = alpha op(A) op(B) + beta C (OpenBLAS `cblas_sgemm`), in place on `c`. A, B and C
   * may be views of any ArrayBuffer, WebAssembly memory included; bounds are checked.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** OpenBLAS's build configuration string. */
  config(): string;
  /** OpenBLAS's thread count. */
  setThreads(n: number): void;
}

/** Loads the addon, or says why it is not available. */
export function loadNativeBlas(): { ok: true; blas: NativeBlas } | { ok: false; reason: string };
