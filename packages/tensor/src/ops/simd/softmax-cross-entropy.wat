;; WebAssembly SIMD kernels of softmaxCrossEntropy, run in place on tfjs-backend-wasm's heap (the
;; module imports the Emscripten module's memory; arguments are byte offsets into it).
;;
;; Assembled by `node packages/tensor/scripts/assemble-wat.mjs` into softmax-cross-entropy.wasm.ts;
;; `wat-artifacts.test.ts` re-assembles this file and checks the committed bytes.
;;
;; Per row of x [rows, n]: m = max_i x_i; e_i = exp(x_i - m) (the polynomial below, four lanes at a
;; time: WebAssembly has no exp instruction); s = sum_i e_i in float64; g_i = e_i * f32(1 / s), the
;; softmax. The caller finishes on the few rows: loss = m + log(s) - x_t and g_t -= 1.
(module
  (import "env" "memory" (memory 0))

  ;; exp(x) for four float32 lanes, for x <= 0 (what the forward passes: x - max): Cephes' expf
  ;; (x = n ln2 + r, |r| <= ln2 / 2, ln2 split in two constants; degree-5 polynomial in r, times
  ;; 2^n from the exponent bits), 1-2 ulp. Below -87.33654 (where exp(x) leaves the normal floats)
  ;; the result is 0; NaN stays NaN; exp(0) = 1 exactly.
  (func $exp (param $x v128) (result v128)
    (local $under v128) (local $n v128) (local $r v128) (local $y v128)
    (local.set $under
      (f32x4.lt (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654)))
    (local.set $x
      (f32x4.max (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654)))
    ;; n = floor(x log2(e) + 1/2)
    (local.set $n
      (f32x4.floor
        (f32x4.add
          (f32x4.mul (local.get $x)
            (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
          (v128.const f32x4 0.5 0.5 0.5 0.5))))
    ;; r = x - n C1 - n C2, C1 + C2 = ln 2
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    ;; y = ((((p0 r + p1) r + p2) r + p3) r + p4) r + p5) r^2 + r + 1
    (local.set $y (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
        (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
        (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
        (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
        (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
        (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $y
      (f32x4.add
        (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
        (v128.const f32x4 1 1 1 1)))
    ;; times 2^n: n in [-126, 0] here, so n + 127 is a normal float's exponent
    (v128.andnot
      (f32x4.mul (local.get $y)
        (i32x4.shl
          (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127))
          (i32.const 23)))
      (local.get $under)))

  ;; For each row r of x [rows, n] (n >= 1): g's row = softmax(x's row), and at stats + 16 r the
  ;; row's maximum m and s = sum_i exp(x_i - m), two float64.
  (func (export "forward") (param $x i32) (param $rows i32) (param $n i32) (param $g i32) (param $stats i32)
    (local $b i32) (local $p i32) (local $o i32) (local $end i32) (local $vend i32)
    (local $vm v128) (local $m f32) (local $e v128) (local $acc0 v128) (local $acc1 v128) (local $s f64)
    (local $inv v128) (local $invs f32)
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $b) (local.get $rows)))
        (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (local.get $b) (local.get $n)) (i32.const 2))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $vend
          (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        ;; the row maximum
        (local.set $vm (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $o (local.get $p))
        (block $max_done
          (loop $max
            (br_if $max_done (i32.ge_u (local.get $o) (local.get $vend)))
            (local.set $vm (f32x4.max (local.get $vm) (v128.load (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $max)))
        (local.set $m
          (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $vm)) (f32x4.extract_lane 1 (local.get $vm)))
            (f32.max (f32x4.extract_lane 2 (local.get $vm)) (f32x4.extract_lane 3 (local.get $vm)))))
        (block $max_tail_done
          (loop $max_tail
            (br_if $max_tail_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $m (f32.max (local.get $m) (f32.load (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $max_tail)))
        ;; e = exp(x - m) into g's row, summed in float64 (two f64x2 accumulators)
        (local.set $vm (f32x4.splat (local.get $m)))
        (local.set $acc0 (v128.const f64x2 0 0))
        (local.set $acc1 (v128.const f64x2 0 0))
        (local.set $o (local.get $p))
        (block $exp_done
          (loop $exp_loop
            (br_if $exp_done (i32.ge_u (local.get $o) (local.get $vend)))
            (local.set $e (call $exp (f32x4.sub (v128.load (local.get $o)) (local.get $vm))))
            (v128.store (i32.add (local.get $g) (i32.sub (local.get $o) (local.get $x))) (local.get $e))
            (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.promote_low_f32x4 (local.get $e))))
            (local.set $acc1
              (f64x2.add (local.get $acc1)
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $exp_loop)))
        (local.set $s
          (f64.add
            (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))
            (f64.add (f64x2.extract_lane 0 (local.get $acc1)) (f64x2.extract_lane 1 (local.get $acc1)))))
        (block $exp_tail_done
          (loop $exp_tail
            (br_if $exp_tail_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $e (call $exp (f32x4.splat (f32.sub (f32.load (local.get $o)) (local.get $m)))))
            (f32.store (i32.add (local.get $g) (i32.sub (local.get $o) (local.get $x)))
              (f32x4.extract_lane 0 (local.get $e)))
            (local.set $s
              (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $e)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $exp_tail)))
        ;; g = e / s (times the float32 reciprocal)
        (local.set $invs (f32.demote_f64 (f64.div (f64.const 1) (local.get $s))))
        (local.set $inv (f32x4.splat (local.get $invs)))
        (local.set $o (i32.add (local.get $g) (i32.sub (local.get $p) (local.get $x))))
        (local.set $vend (i32.add (local.get $o) (i32.sub (local.get $vend) (local.get $p))))
        (local.set $end (i32.add (local.get $o) (i32.sub (local.get $end) (local.get $p))))
        (block $scale_done
          (loop $scale
            (br_if $scale_done (i32.ge_u (local.get $o) (local.get $vend)))
            (v128.store (local.get $o) (f32x4.mul (v128.load (local.get $o)) (local.get $inv)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $scale)))
        (block $scale_tail_done
          (loop $scale_tail
            (br_if $scale_tail_done (i32.ge_u (local.get $o) (local.get $end)))
            (f32.store (local.get $o) (f32.mul (f32.load (local.get $o)) (local.get $invs)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $scale_tail)))
        (f64.store (i32.add (local.get $stats) (i32.shl (local.get $b) (i32.const 4)))
          (f64.promote_f32 (local.get $m)))
        (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $b) (i32.const 4)))
          (local.get $s))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows_loop))))

  ;; dx [rows, n] = dy_r g[r, :] (dy [rows]).
  (func (export "backward") (param $dy i32) (param $g i32) (param $rows i32) (param $n i32) (param $dx i32)
    (local $b i32) (local $o i32) (local $q i32) (local $vend i32) (local $end i32)
    (local $d f32) (local $vd v128)
    (local.set $o (local.get $g))
    (local.set $q (local.get $dx))
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $b) (local.get $rows)))
        (local.set $d (f32.load (i32.add (local.get $dy) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $vd (f32x4.splat (local.get $d)))
        (local.set $vend
          (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $o) (local.get $vend)))
            (v128.store (local.get $q) (f32x4.mul (local.get $vd) (v128.load (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $vec)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $o) (local.get $end)))
            (f32.store (local.get $q) (f32.mul (local.get $d) (f32.load (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows_loop))))
)
