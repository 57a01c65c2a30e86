;; Issue #9.3: tables were allocated outside the memory limit. Four tables of
;; a million funcref entries (24 bytes each on x86-64) are ~96 MB; under the
;; default 16 MB limit instantiation must be refused, not allocated.
(module
  (table 1000000 funcref)
  (table 1000000 funcref)
  (table 1000000 funcref)
  (table 1000000 funcref)
  (memory (export "memory") 1)
  (func (export "_start")))
