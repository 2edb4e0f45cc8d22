/* libFuzzer harness: `make fuzz` (clang, ASan, UBSan); seeds in tests/fuzz/sweepjson/. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_sweepjson(data, size); }
