#ifndef H5M_THREAD_PLACEMENT_H
#define H5M_THREAD_PLACEMENT_H

/* CPU affinity of the calling thread (sched_getaffinity/sched_setaffinity are GNU
   extensions, which Swift's Glibc module does not declare). */

/* Number of CPUs the calling thread may run on; the lowest of them in *first (-1 if none). */
int h5m_thread_allowed_cpus(int *first);

/* Takes the lowest of the calling thread's allowed CPUs away from it, when it has two or
   more: 0 done, 1 nothing to do (one CPU), or -errno. */
int h5m_thread_leave_first_cpu(void);

#endif
