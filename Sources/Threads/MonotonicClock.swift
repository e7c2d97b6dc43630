import Glibc

/// CLOCK_MONOTONIC in seconds: for intervals (rates, throttles, timeouts), never for dates.
package func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
