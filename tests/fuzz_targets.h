/* The fuzz targets: tests/fuzz_targets.c. */
#ifndef RL_FUZZ_TARGETS_H
#define RL_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* The targets, X(NAME) each: int fuzz_NAME(const uint8_t *data, size_t
 * size), always 0, whose seeds are in tests/fuzz/NAME/ (and harness in
 * tests/fuzz/fuzz_NAME.c): the library's readers (tests/fuzz_targets.c);
 * the readers of a user's data files (tests/fuzz_readers.c); the program's
 * parsers: a sweep's spec, a sweep folder, plot csv's table, a run's
 * configuration (tests/fuzz_targets.c). */
#define FUZZ_TARGETS(X)                                                                                          \
    X(safetensors) X(model) X(data) X(text)                                                                      \
    X(npy) X(npz) X(idx) X(csv)                                                                                  \
    X(sweepspec) X(sweepjson) X(plotcsv) X(runconfig)

#define FUZZ_DECLARE(name) int fuzz_##name(const uint8_t *data, size_t size);
FUZZ_TARGETS(FUZZ_DECLARE)

#endif
