;; A hash chain: FNV-1a over the input's data, repeated `rounds` times. A job that is all
;; integer work, for `groundwork compute exec`.
;;
;; Input (at memory offset 0): rounds as a little-endian u64, then the data (at most 64 KiB
;; in all). Output: the 8-byte state, little-endian, at offset 65536.
(module
  (memory (export "memory") 2 2)
  (func (export "run") (param $len i32) (result i64)
    (local $rounds i64) (local $round i64) (local $hash i64) (local $at i32)
    (local.set $rounds (i64.load (i32.const 0)))
    (local.set $hash (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $next_round
        (br_if $done (i64.ge_u (local.get $round) (local.get $rounds)))
        (local.set $at (i32.const 8))
        (block $end
          (loop $next_byte
            (br_if $end (i32.ge_u (local.get $at) (local.get $len)))
            (local.set $hash
              (i64.mul
                (i64.xor (local.get $hash) (i64.load8_u (local.get $at)))
                (i64.const 0x100000001b3)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $next_byte)))
        (local.set $round (i64.add (local.get $round) (i64.const 1)))
        (br $next_round)))
    (i64.store (i32.const 65536) (local.get $hash))
    ;; The output's place and length, packed: offset << 32 | length.
    (i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const 8))))
