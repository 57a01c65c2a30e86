;; Issue #9.2 and #9.3: grows a table until the runtime refuses, then spins.
;; Growth counts against the memory limit (~16 MB = ~700k entries); with a
;; short timeout, the watchdog often fires while the runtime is inside
;; realloc, which must not leave malloc's lock held.
(module
  (table 0 funcref)
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $grow
      (br_if $grow (i32.ne (table.grow 0 (ref.null func) (i32.const 4096)) (i32.const -1))))
    (loop $spin (br $spin))))
