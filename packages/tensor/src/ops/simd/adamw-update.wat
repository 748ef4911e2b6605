;; WebAssembly SIMD kernel of adamwUpdate, run in place on tfjs-backend-wasm's heap (the module
;; imports the Emscripten module's memory; the pointer arguments are byte offsets into it).
;;
;; Assembled by `node packages/tensor/scripts/assemble-wat.mjs` into adamw-update.wasm.ts;
;; `wat-artifacts.test.ts` re-assembles this file and checks the committed bytes.
;;
;; Per element, each operation one float32 operation (f32x4 lanes; IEEE-rounded mul, add, div, sqrt)
;; in the composite's order, so the same bits as the composite and the JS loop:
;;   m' = m b1 + g c1;  v' = v b2 + (g g) c2;  d = sqrt(v') / q + eps
;;   p' = p decay - (m' / d) step   (p unscaled when $has_decay is 0)
(module
  (import "env" "memory" (memory 0))

  (func (export "update")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $po i32) (param $mo i32) (param $vo i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $decay f32) (param $step f32) (param $q f32) (param $eps f32) (param $has_decay i32)
    (local $i i32) (local $end i32) (local $o i32)
    (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vdecay v128) (local $vstep v128) (local $vq v128) (local $veps v128)
    (local $gi v128) (local $mi v128) (local $vi v128) (local $pi v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $ps f32)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vdecay (f32x4.splat (local.get $decay)))
    (local.set $vstep (f32x4.splat (local.get $step)))
    (local.set $vq (f32x4.splat (local.get $q)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    ;; $o: the byte offset of element i; whole f32x4 blocks first
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $vec
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gi (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $vb1))
            (f32x4.mul (local.get $gi) (local.get $vc1))))
        (local.set $vi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $vb2))
            (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi)) (local.get $vc2))))
        (local.set $pi (v128.load (i32.add (local.get $p) (local.get $o))))
        (if (local.get $has_decay)
          (then (local.set $pi (f32x4.mul (local.get $pi) (local.get $vdecay)))))
        (v128.store (i32.add (local.get $mo) (local.get $o)) (local.get $mi))
        (v128.store (i32.add (local.get $vo) (local.get $o)) (local.get $vi))
        (v128.store (i32.add (local.get $po) (local.get $o))
          (f32x4.sub (local.get $pi)
            (f32x4.mul
              (f32x4.div (local.get $mi)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vi)) (local.get $vq)) (local.get $veps)))
              (local.get $vstep))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    ;; the tail of fewer than four elements, scalar
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (local.set $ps (f32.load (i32.add (local.get $p) (local.get $o))))
        (if (local.get $has_decay)
          (then (local.set $ps (f32.mul (local.get $ps) (local.get $decay)))))
        (f32.store (i32.add (local.get $mo) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $po) (local.get $o))
          (f32.sub (local.get $ps)
            (f32.mul
              (f32.div (local.get $ms)
                (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $q)) (local.get $eps)))
              (local.get $step))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $tail))))
)
