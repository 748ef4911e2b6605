;; WebAssembly SIMD kernel of countAtLeast, run in place on tfjs-backend-wasm's heap (the module
;; imports the Emscripten module's memory; the pointer arguments are byte offsets into it).
;;
;; Assembled by `node packages/tensor/scripts/assemble-wat.mjs` into count-at-least.wasm.ts;
;; `wat-artifacts.test.ts` re-assembles this file and checks the committed bytes.
;;
;; out[r] = #{ j : x[r, j] >= t[r] } for x [rows, cols] float32, t [rows] float32, out [rows] int32.
;; f32x4.ge is all ones (-1) in the lanes that hold (never for NaN), so subtracting it counts; two
;; i32x4 accumulators over 8 columns a step (a count per lane stays far below 2^31), then a scalar
;; tail. Exact integers: the same result as the JS loop on every machine.
(module
  (import "env" "memory" (memory 0))

  (func (export "count") (param $x i32) (param $t i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $p i32) (local $end8 i32) (local $end i32) (local $c i32)
    (local $th f32) (local $vth v128) (local $acc0 v128) (local $acc1 v128)
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $th (f32.load (i32.add (local.get $t) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $vth (f32x4.splat (local.get $th)))
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
        (local.set $acc1 (v128.const i32x4 0 0 0 0))
        ;; $p walks the row's bytes: blocks of 8 columns, then single ones
        (local.set $end8 (i32.add (local.get $p) (i32.shl (i32.and (local.get $cols) (i32.const -8)) (i32.const 2))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $cols) (i32.const 2))))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $p) (local.get $end8)))
            (local.set $acc0 (i32x4.sub (local.get $acc0)
              (f32x4.ge (v128.load (i32.add (local.get $x) (local.get $p))) (local.get $vth))))
            (local.set $acc1 (i32x4.sub (local.get $acc1)
              (f32x4.ge (v128.load offset=16 (i32.add (local.get $x) (local.get $p))) (local.get $vth))))
            (local.set $p (i32.add (local.get $p) (i32.const 32)))
            (br $vec)))
        (local.set $acc0 (i32x4.add (local.get $acc0) (local.get $acc1)))
        (local.set $c
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $acc0)) (i32x4.extract_lane 1 (local.get $acc0)))
            (i32.add (i32x4.extract_lane 2 (local.get $acc0)) (i32x4.extract_lane 3 (local.get $acc0)))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $c (i32.add (local.get $c)
              (f32.ge (f32.load (i32.add (local.get $x) (local.get $p))) (local.get $th))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $tail)))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2))) (local.get $c))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))
)
