#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "CThreadPlacement.h"

/* The lowest CPU in `set`, or -1 when it is empty. */
static int first_cpu(const cpu_set_t *set) {
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, set)) return cpu;
    }
    return -1;
}

int h5m_thread_allowed_cpus(int *first) {
    cpu_set_t set;
    CPU_ZERO(&set);
    *first = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    *first = first_cpu(&set);
    return CPU_COUNT(&set);
}

int h5m_thread_leave_first_cpu(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    if (CPU_COUNT(&set) < 2) return 1;
    CPU_CLR(first_cpu(&set), &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/* The calling thread's own CPUs, saved at its first call below, and whether it is kept to
   the first of them now. Thread-local: each thread places only itself. */
static _Thread_local cpu_set_t own_cpus;
static _Thread_local int own_cpus_saved = 0;
static _Thread_local int kept_to_first = 0;
/* Set when the system refused (a cpuset that forbids it): not asked again. */
static _Thread_local int refused = 0;

int h5m_thread_keep_to_first_cpu(int keep) {
    keep = keep != 0;
    if (keep == kept_to_first || refused) return 0;
    if (!own_cpus_saved) {
        if (sched_getaffinity(0, sizeof own_cpus, &own_cpus) != 0) { refused = 1; return -errno; }
        own_cpus_saved = 1;
    }
    cpu_set_t set = own_cpus;
    int first = first_cpu(&set);
    if (keep && first >= 0) {
        CPU_ZERO(&set);
        CPU_SET(first, &set);
    }
    if (sched_setaffinity(0, sizeof set, &set) != 0) { refused = 1; return -errno; }
    kept_to_first = keep;
    return 0;
}
