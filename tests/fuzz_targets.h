/* The fuzz targets: tests/fuzz_targets.c. */
#ifndef RL_FUZZ_TARGETS_H
#define RL_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_safetensors(const uint8_t *data, size_t size);
int fuzz_model(const uint8_t *data, size_t size);
int fuzz_data(const uint8_t *data, size_t size);
int fuzz_text(const uint8_t *data, size_t size);
/* the readers of a user's data files: tests/fuzz_readers.c */
int fuzz_npy(const uint8_t *data, size_t size);
int fuzz_npz(const uint8_t *data, size_t size);
int fuzz_idx(const uint8_t *data, size_t size);
int fuzz_csv(const uint8_t *data, size_t size);
/* the program's parsers: a sweep's spec, a sweep folder, plot csv's table, a run's configuration */
int fuzz_sweepspec(const uint8_t *data, size_t size);
int fuzz_sweepjson(const uint8_t *data, size_t size);
int fuzz_plotcsv(const uint8_t *data, size_t size);
int fuzz_runconfig(const uint8_t *data, size_t size);

#endif
