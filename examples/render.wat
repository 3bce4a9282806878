;; A tile renderer: one rectangle of a Mandelbrot image, in fixed-point integers (24
;; fractional bits), so every machine computes the same pixels. A frame is cut into tiles and
;; each tile is one task.
;;
;; Input (at memory offset 0), seven little-endian i32: the image's width and height, the
;; tile's left and top pixel, its width and height, and the most iterations per pixel.
;; Output: the tile's RGBA pixels, row by row, at offset 65536 (at most 256 × 256 pixels).
(module
  (memory (export "memory") 5 5)
  (func $colour (param $iter i32) (param $max i32) (result i32)
    ;; Inside the set: opaque black. Outside: a palette from the escape count.
    (if (result i32) (i32.ge_u (local.get $iter) (local.get $max))
      (then (i32.const 0xff000000))
      (else
        (i32.or
          (i32.or
            (i32.and (i32.mul (local.get $iter) (i32.const 9)) (i32.const 255))
            (i32.shl (i32.and (i32.mul (local.get $iter) (i32.const 5)) (i32.const 255)) (i32.const 8)))
          (i32.or
            (i32.shl (i32.and (i32.mul (local.get $iter) (i32.const 13)) (i32.const 255)) (i32.const 16))
            (i32.const 0xff000000))))))
  (func (export "run") (param $len i32) (result i64)
    (local $width i64) (local $height i64) (local $left i32) (local $top i32)
    (local $tw i32) (local $th i32) (local $max i32)
    (local $x i32) (local $y i32) (local $iter i32) (local $out i32)
    (local $cr i64) (local $ci i64) (local $zr i64) (local $zi i64) (local $zr2 i64) (local $zi2 i64)
    (local.set $width (i64.extend_i32_u (i32.load (i32.const 0))))
    (local.set $height (i64.extend_i32_u (i32.load (i32.const 4))))
    (local.set $left (i32.load (i32.const 8)))
    (local.set $top (i32.load (i32.const 12)))
    (local.set $tw (i32.load (i32.const 16)))
    (local.set $th (i32.load (i32.const 20)))
    (local.set $max (i32.load (i32.const 24)))
    (if (i32.or (i32.gt_u (local.get $tw) (i32.const 256)) (i32.gt_u (local.get $th) (i32.const 256)))
      (then unreachable))
    (local.set $out (i32.const 65536))
    (local.set $y (i32.const 0))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $th)))
        ;; ci = -1.2 + 2.4 × (top + y) / height, in units of 2^-24.
        (local.set $ci
          (i64.add (i64.const -20132659)
            (i64.div_s
              (i64.mul (i64.const 40265318) (i64.extend_i32_u (i32.add (local.get $top) (local.get $y))))
              (local.get $height))))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $col
            (br_if $cols_done (i32.ge_u (local.get $x) (local.get $tw)))
            ;; cr = -2.2 + 3.2 × (left + x) / width.
            (local.set $cr
              (i64.add (i64.const -36909875)
                (i64.div_s
                  (i64.mul (i64.const 53687091) (i64.extend_i32_u (i32.add (local.get $left) (local.get $x))))
                  (local.get $width))))
            (local.set $zr (i64.const 0))
            (local.set $zi (i64.const 0))
            (local.set $iter (i32.const 0))
            (block $escaped
              (loop $step
                (br_if $escaped (i32.ge_u (local.get $iter) (local.get $max)))
                (local.set $zr2 (i64.shr_s (i64.mul (local.get $zr) (local.get $zr)) (i64.const 24)))
                (local.set $zi2 (i64.shr_s (i64.mul (local.get $zi) (local.get $zi)) (i64.const 24)))
                ;; |z|² > 4: escaped.
                (br_if $escaped (i64.gt_s (i64.add (local.get $zr2) (local.get $zi2)) (i64.const 67108864)))
                (local.set $zi
                  (i64.add
                    (i64.shr_s (i64.mul (i64.shl (local.get $zr) (i64.const 1)) (local.get $zi)) (i64.const 24))
                    (local.get $ci)))
                (local.set $zr (i64.add (i64.sub (local.get $zr2) (local.get $zi2)) (local.get $cr)))
                (local.set $iter (i32.add (local.get $iter) (i32.const 1)))
                (br $step)))
            (i32.store (local.get $out) (call $colour (local.get $iter) (local.get $max)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $col)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $row)))
    (i64.or
      (i64.shl (i64.const 65536) (i64.const 32))
      (i64.extend_i32_u (i32.mul (i32.mul (local.get $tw) (local.get $th)) (i32.const 4))))))
