/* libFuzzer harness: `make fuzz` (clang, ASan, UBSan); seeds in tests/fuzz/runconfig/. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_runconfig(data, size); }
