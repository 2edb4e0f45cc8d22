/* Every file under tests/fuzz/ (the fuzzers' seeds and every input that once
 * crashed one) goes through its target again: nothing may crash. Under
 * `make asan` this also means no invalid read or write. */
#include "fuzz_targets.h"
#include "test.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>

/* a target's row: its folder under tests/fuzz/ and its function */
#define FUZZ_ROW(name) {#name, fuzz_##name},

TEST(fuzz_corpus_replays)
{
    static const struct { const char *dir; int (*fn)(const uint8_t *, size_t); } targets[] = {FUZZ_TARGETS(FUZZ_ROW)};
    int files = 0;
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        char pat[1200];
        snprintf(pat, sizeof pat, "%s/../fuzz/%s/*", test_fixtures, targets[k].dir);
        glob_t g;
        if (glob(pat, 0, NULL, &g) != 0) {
            CHECK_MSG(0, "no seed files in tests/fuzz/%s", targets[k].dir);
            continue;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
            size_t n = 0;
            unsigned char *b = read_file(g.gl_pathv[i], &n);
            if (!b) continue;
            targets[k].fn(b, n);
            free(b);
            files++;
        }
        globfree(&g);
    }
    CHECK_MSG(files >= 12, "%d corpus files replayed", files);
}
