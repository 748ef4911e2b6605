;; WebAssembly SIMD kernels of weightedTermSum (s[b, i] = sum_j w[i, j] t_j[b, i]) and its gradient,
;; run in place on tfjs-backend-wasm's heap: the module imports the Emscripten module's memory, and
;; every argument is a byte offset into it (a tensor's memoryOffset, or scratch from its _malloc).
;;
;; Assembled by `node packages/tensor/scripts/assemble-wat.mjs` into weighted-term-sum.wasm.ts (the
;; bytes, base64); `wat-artifacts.test.ts` re-assembles this file and checks the committed bytes.
;;
;; Rounding is the composite's (Slice, Multiply, Add per term; tfjs's gradients): every product and
;; every partial sum is one float32 operation, in term order (forward) and row order (dw), so the
;; results have the composite's bits. f32x4 lanes run over the columns i; a row's tail of fewer than
;; four columns runs scalar. Per row, the J terms are streamed one after another while that row of
;; s (or of the dw accumulators) stays in cache.
(module
  (import "env" "memory" (memory 0))

  ;; out[j * n + i] = w[i * J + j]: the J columns of w [n, J], each contiguous.
  (func (export "columns") (param $w i32) (param $J i32) (param $n i32) (param $out i32)
    (local $j i32) (local $src i32) (local $dst i32) (local $end i32) (local $stride i32)
    (local.set $stride (i32.shl (local.get $J) (i32.const 2)))
    (block $done
      (loop $col
        (br_if $done (i32.ge_u (local.get $j) (local.get $J)))
        (local.set $src (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $dst
          (i32.add (local.get $out) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 2))))
        (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
        (block $row_done
          (loop $row
            (br_if $row_done (i32.ge_u (local.get $dst) (local.get $end)))
            (f32.store (local.get $dst) (f32.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (local.get $stride)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $col))))

  ;; dw[i * J + j] = acc[j * n + i]: the accumulated columns back into w's layout.
  (func (export "uncolumns") (param $acc i32) (param $J i32) (param $n i32) (param $dw i32)
    (local $j i32) (local $src i32) (local $dst i32) (local $end i32) (local $stride i32)
    (local.set $stride (i32.shl (local.get $J) (i32.const 2)))
    (block $done
      (loop $col
        (br_if $done (i32.ge_u (local.get $j) (local.get $J)))
        (local.set $dst (i32.add (local.get $dw) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $src
          (i32.add (local.get $acc) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 2))))
        (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
        (block $row_done
          (loop $row
            (br_if $row_done (i32.ge_u (local.get $src) (local.get $end)))
            (f32.store (local.get $dst) (f32.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
            (br $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $col))))

  ;; o[i] = t[i] c[i] for i < n.
  (func $mul_row (param $t i32) (param $c i32) (param $o i32) (param $n i32)
    (local $end i32)
    (local.set $end
      (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vec
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (local.get $o) (f32x4.mul (v128.load (local.get $t)) (v128.load (local.get $c))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    (local.set $end
      (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (local.get $o) (f32.mul (f32.load (local.get $t)) (f32.load (local.get $c))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $tail))))

  ;; o[i] = o[i] + t[i] c[i] for i < n (the product rounded, then the sum: no fused multiply-add).
  (func $madd_row (param $t i32) (param $c i32) (param $o i32) (param $n i32)
    (local $end i32)
    (local.set $end
      (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vec
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (local.get $o)
          (f32x4.add (v128.load (local.get $o))
            (f32x4.mul (v128.load (local.get $t)) (v128.load (local.get $c)))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    (local.set $end
      (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (local.get $o)
          (f32.add (f32.load (local.get $o)) (f32.mul (f32.load (local.get $t)) (f32.load (local.get $c)))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $tail))))

  ;; dt[i] = g[i] c[i] and acc[i] = acc[i] + g[i] t[i] for i < n.
  (func $grad_row (param $g i32) (param $t i32) (param $c i32) (param $dt i32) (param $acc i32) (param $n i32)
    (local $end i32) (local $gv v128) (local $gs f32)
    (local.set $end
      (i32.add (local.get $dt) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vec
        (br_if $done (i32.ge_u (local.get $dt) (local.get $end)))
        (local.set $gv (v128.load (local.get $g)))
        (v128.store (local.get $dt) (f32x4.mul (local.get $gv) (v128.load (local.get $c))))
        (v128.store (local.get $acc)
          (f32x4.add (v128.load (local.get $acc)) (f32x4.mul (local.get $gv) (v128.load (local.get $t)))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (local.set $dt (i32.add (local.get $dt) (i32.const 16)))
        (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
        (br $vec)))
    (local.set $end
      (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $dt) (local.get $end)))
        (local.set $gs (f32.load (local.get $g)))
        (f32.store (local.get $dt) (f32.mul (local.get $gs) (f32.load (local.get $c))))
        (f32.store (local.get $acc)
          (f32.add (f32.load (local.get $acc)) (f32.mul (local.get $gs) (f32.load (local.get $t)))))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (local.set $dt (i32.add (local.get $dt) (i32.const 4)))
        (local.set $acc (i32.add (local.get $acc) (i32.const 4)))
        (br $tail))))

  ;; s [rows, n] = sum_j cols_j * t_j, in term order. $terms: J i32 offsets of the terms [rows, n];
  ;; $cols: w's columns from "columns" [J, n].
  (func (export "forward")
    (param $terms i32) (param $J i32) (param $rows i32) (param $n i32) (param $cols i32) (param $s i32)
    (local $b i32) (local $j i32) (local $row i32) (local $t i32) (local $c i32)
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $b) (local.get $rows)))
        (local.set $row (i32.shl (i32.mul (local.get $b) (local.get $n)) (i32.const 2)))
        (call $mul_row
          (i32.add (i32.load (local.get $terms)) (local.get $row))
          (local.get $cols)
          (i32.add (local.get $s) (local.get $row))
          (local.get $n))
        (local.set $j (i32.const 1))
        (block $terms_done
          (loop $terms_loop
            (br_if $terms_done (i32.ge_u (local.get $j) (local.get $J)))
            (local.set $t
              (i32.add (i32.load (i32.add (local.get $terms) (i32.shl (local.get $j) (i32.const 2))))
                (local.get $row)))
            (local.set $c
              (i32.add (local.get $cols) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 2))))
            (call $madd_row (local.get $t) (local.get $c) (i32.add (local.get $s) (local.get $row))
              (local.get $n))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $terms_loop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows_loop))))

  ;; The gradient for dy [rows, n]: dt_j = dy cols_j (J offsets in $dts) and acc [J, n] += the
  ;; row-by-row products dy t_j (acc zeroed by the caller; "uncolumns" turns it into dw [n, J]).
  (func (export "backward")
    (param $terms i32) (param $dts i32) (param $J i32) (param $rows i32) (param $n i32)
    (param $cols i32) (param $dy i32) (param $acc i32)
    (local $b i32) (local $j i32) (local $row i32) (local $col i32)
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $b) (local.get $rows)))
        (local.set $row (i32.shl (i32.mul (local.get $b) (local.get $n)) (i32.const 2)))
        (local.set $j (i32.const 0))
        (block $terms_done
          (loop $terms_loop
            (br_if $terms_done (i32.ge_u (local.get $j) (local.get $J)))
            (local.set $col (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 2)))
            (call $grad_row
              (i32.add (local.get $dy) (local.get $row))
              (i32.add (i32.load (i32.add (local.get $terms) (i32.shl (local.get $j) (i32.const 2))))
                (local.get $row))
              (i32.add (local.get $cols) (local.get $col))
              (i32.add (i32.load (i32.add (local.get $dts) (i32.shl (local.get $j) (i32.const 2))))
                (local.get $row))
              (i32.add (local.get $acc) (local.get $col))
              (local.get $n))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $terms_loop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows_loop))))
)
