/* libFuzzer harness: `make fuzz` (clang, ASan, UBSan); seeds in tests/fuzz/plotcsv/. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_plotcsv(data, size); }
