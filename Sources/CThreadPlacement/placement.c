#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "CThreadPlacement.h"

int h5m_thread_allowed_cpus(int *first) {
    cpu_set_t set;
    CPU_ZERO(&set);
    *first = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) { *first = cpu; break; }
    }
    return CPU_COUNT(&set);
}

int h5m_thread_leave_first_cpu(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    if (CPU_COUNT(&set) < 2) return 1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) { CPU_CLR(cpu, &set); break; }
    }
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}
