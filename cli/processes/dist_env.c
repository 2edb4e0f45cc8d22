/* Was this process started by an MPI launcher? Asked of the environment
 * alone, by both builds (cli/processes/dist.h). */
#include "cli.h"
#include "processes/dist.h"

#include <stdlib.h>
#include <string.h>

int cli_dist_launched(char *var, size_t n)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    const char *no = getenv("RNNLAB_NO_MPI");
    if (var && n) var[0] = '\0';
    if (no && strcmp(no, "1") == 0) return 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]);
        if (!v) continue;
        char *end = NULL;
        long k = strtol(v, &end, 10);
        if (var && n) snprintf(var, n, "%s=%s", sizes[i], v);
        return end != v && *end == '\0' && k >= 1 && k <= 1 << 24 ? (int)k : -1;
    }
    if (getenv("PMIX_RANK")) {
        if (var && n) snprintf(var, n, "PMIX_RANK=%s", getenv("PMIX_RANK"));
        return -1;
    }
    return 0;
}
