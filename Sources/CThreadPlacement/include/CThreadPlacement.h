#ifndef H5M_THREAD_PLACEMENT_H
#define H5M_THREAD_PLACEMENT_H

/* CPU affinity of the calling thread (sched_getaffinity/sched_setaffinity are GNU
   extensions, which Swift's Glibc module does not declare). */

/* Number of CPUs the calling thread may run on; the lowest of them in *first (-1 if none). */
int h5m_thread_allowed_cpus(int *first);

/* Takes the lowest of the calling thread's allowed CPUs away from it, when it has two or
   more: 0 done, 1 nothing to do (one CPU), or -errno. */
int h5m_thread_leave_first_cpu(void);

/* keep != 0: restricts the calling thread to the first of its own CPUs (those it had at its
   first call); keep == 0: gives it all of them back. A system call only when that changes;
   once refused, never again on that thread. */
int h5m_thread_keep_to_first_cpu(int keep);

#endif
