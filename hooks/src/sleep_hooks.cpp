// sleep, usleep, nanosleep and clock_nanosleep on a braid coroutine park it on a braid
// timer. An interrupt ends the sleep early, as a signal would: -1/errno (ECANCELED for a
// kill, ETIMEDOUT for a braid::Timeout) with the time left where the call reports it.
#include "common.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>

using namespace braid::hooks::detail;

namespace {

constexpr long long kNsPerSec = 1'000'000'000LL;

// Sleeps `ns`; 0, or the interrupt's errno with `*left` the time not slept.
int park_sleep(const braid_hooks_entry* rt, long long ns, long long* left) {
  const long long until = now_ns() + ns;
  int err = rt->pending();
  if (err == 0) err = rt->sleep(ns);
  *left = err == 0 ? 0 : std::max(0LL, until - now_ns());
  return err;
}

void to_timespec(long long ns, timespec* ts) {
  ts->tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts->tv_nsec = static_cast<long>(ns % kNsPerSec);
}

bool valid(const timespec* ts) {
  return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < kNsPerSec;
}

}  // namespace

extern "C" {

unsigned int sleep(unsigned int seconds) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(sleep)(seconds);
  long long left = 0;
  park_sleep(rt, static_cast<long long>(seconds) * kNsPerSec, &left);
  return static_cast<unsigned>((left + kNsPerSec - 1) / kNsPerSec);  // whole seconds left
}

int usleep(useconds_t usec) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(usleep)(usec);
  long long left = 0;
  const int err = park_sleep(rt, static_cast<long long>(usec) * 1000LL, &left);
  return err == 0 ? 0 : fail(err);
}

int nanosleep(const timespec* req, timespec* rem) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(nanosleep)(req, rem);
  if (req == nullptr) return fail(EFAULT);
  if (!valid(req)) return fail(EINVAL);
  long long left = 0;
  const int err = park_sleep(rt, req->tv_sec * kNsPerSec + req->tv_nsec, &left);
  if (err == 0) return 0;
  if (rem != nullptr) to_timespec(left, rem);
  return fail(err);
}

int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
  const braid_hooks_entry* rt = parking_entry();
  const bool known = clock == CLOCK_MONOTONIC || clock == CLOCK_REALTIME ||
                     clock == CLOCK_BOOTTIME;
  if (rt == nullptr || !known) return BRAID_REAL(clock_nanosleep)(clock, flags, req, rem);
  if (req == nullptr) return EFAULT;
  if (!valid(req)) return EINVAL;
  long long ns = req->tv_sec * kNsPerSec + req->tv_nsec;
  if ((flags & TIMER_ABSTIME) != 0) {  // an instant on `clock`: sleep until then
    timespec now{};
    ::clock_gettime(clock, &now);
    ns -= now.tv_sec * kNsPerSec + now.tv_nsec;
    if (ns <= 0) return 0;
  }
  long long left = 0;
  const int err = park_sleep(rt, ns, &left);
  // clock_nanosleep returns the error number instead of setting errno.
  if (err != 0 && rem != nullptr && (flags & TIMER_ABSTIME) == 0) to_timespec(left, rem);
  return err;
}

}  // extern "C"
