// Linked into every executable of a ThreadSanitizer build (make test-tsan;
// CMakeLists.txt) and nowhere else.
//
// Debian's Abseil is not built with -fsanitize=thread, so absl::Mutex and
// absl::CondVar lock and wait inside an uninstrumented library and TSan never
// sees the happens-before they create: every access guarded by an absl::Mutex
// (ours, and gRPC's, which uses absl::Mutex for its own locks) would be
// reported as a race. Instrumented Abseil makes these same annotations inside
// mutex.cc; here the executable defines the out-of-line entry points itself,
// which interposes them for the program and every shared library it loads,
// annotates each operation for TSan and calls Abseil's own implementation,
// found with dlsym(RTLD_NEXT).
//
// Between __tsan_mutex_pre_unlock and __tsan_mutex_post_unlock TSan ignores
// memory accesses, so wait conditions that Abseil evaluates while releasing or
// waiting (on whichever thread unlocks) are not reported either.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/base/config.h"
#include "absl/base/macros.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace {

// Itanium mangling of absl::<inline namespace>::<cls>::<rest>.
std::string Mangled(const char* cls_and_member) {
#ifdef ABSL_OPTION_INLINE_NAMESPACE_NAME
  const std::string ns = ABSL_INTERNAL_TOKEN_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return "_ZN4absl" + std::to_string(ns.size()) + ns + cls_and_member;
#else
  return std::string("_ZN4absl") + cls_and_member;
#endif
}

template <typename Fn>
Fn Real(const char* cls_and_member) {
  const std::string name = Mangled(cls_and_member);
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: Abseil does not export %s\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// Abseil's entry points call each other (CondVar::WaitWithTimeout calls
// WaitWithDeadline, through the interposed one): only the outermost call
// on a thread annotates.
thread_local int depth = 0;
class Outermost {
 public:
  Outermost() : outer_(depth++ == 0) {}
  ~Outermost() { --depth; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
  explicit operator bool() const { return outer_; }

 private:
  const bool outer_;
};

// Runs Abseil's `real` as one lock, unlock, or wait (release, then
// re-acquire) of `mu` in TSan's eyes.
template <typename Real, typename... Args>
auto Locking(void* mu, unsigned flags, Real real, Args... args) {
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(mu, flags);
  auto result = real(args...);
  if (outer) __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}
// A try-lock: `failed` are the flags when it did not get the lock.
bool TryLocking(absl::Mutex* mu, unsigned flags, unsigned failed, bool (*real)(absl::Mutex*)) {
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(mu, flags);
  const bool locked = real(mu);
  if (outer) __tsan_mutex_post_lock(mu, locked ? flags : failed, 0);
  return locked;
}
template <typename Real, typename... Args>
auto Unlocking(void* mu, unsigned flags, Real real, Args... args) {
  const Outermost outer;
  if (outer) __tsan_mutex_pre_unlock(mu, flags);
  auto result = real(args...);
  if (outer) __tsan_mutex_post_unlock(mu, flags);
  return result;
}
template <typename Real, typename... Args>
auto Waiting(void* mu, Real real, Args... args) {
  const Outermost outer;
  if (outer) __tsan_mutex_pre_unlock(mu, 0);
  auto result = real(args...);
  if (outer) {
    __tsan_mutex_post_unlock(mu, 0);
    __tsan_mutex_pre_lock(mu, 0);
    __tsan_mutex_post_lock(mu, 0, 0);
  }
  return result;
}
// For the functions returning void.
struct Void {};
template <typename... Args>
auto Returning(void (*real)(Args...)) {
  return [real](Args... args) {
    real(args...);
    return Void{};
  };
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  static const auto real = Real<void (*)(Mutex*)>("5MutexD1Ev");
  __tsan_mutex_destroy(this, __tsan_mutex_not_static);
  real(this);
}

void Mutex::Lock() {
  static const auto real = Returning(Real<void (*)(Mutex*)>("5Mutex4LockEv"));
  Locking(this, 0, real, this);
}

void Mutex::ReaderLock() {
  static const auto real = Returning(Real<void (*)(Mutex*)>("5Mutex10ReaderLockEv"));
  Locking(this, __tsan_mutex_read_lock, real, this);
}

bool Mutex::TryLock() {
  static const auto real = Real<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  return TryLocking(this, __tsan_mutex_try_lock, __tsan_mutex_try_lock_failed, real);
}

bool Mutex::ReaderTryLock() {
  static const auto real = Real<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  return TryLocking(this, __tsan_mutex_try_read_lock, __tsan_mutex_try_read_lock_failed,
                    real);
}

void Mutex::Unlock() {
  static const auto real = Returning(Real<void (*)(Mutex*)>("5Mutex6UnlockEv"));
  Unlocking(this, 0, real, this);
}

void Mutex::ReaderUnlock() {
  static const auto real = Returning(Real<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv"));
  Unlocking(this, __tsan_mutex_read_lock, real, this);
}

// LockWhen* acquire once the condition holds: one lock as TSan sees it.
void Mutex::LockWhen(const Condition& cond) {
  static const auto real = Returning(Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex8LockWhenERKNS0_9ConditionE"));
  Locking(this, 0, real, this, std::cref(cond));
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto real = Returning(Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex14ReaderLockWhenERKNS0_9ConditionE"));
  Locking(this, __tsan_mutex_read_lock, real, this, std::cref(cond));
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, 0, real, this, std::cref(cond), timeout);
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, real, this, std::cref(cond), deadline);
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, __tsan_mutex_read_lock, real, this, std::cref(cond), timeout);
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, __tsan_mutex_read_lock, real, this, std::cref(cond), deadline);
}

void Mutex::Await(const Condition& cond) {
  static const auto real = Returning(Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex5AwaitERKNS0_9ConditionE"));
  Waiting(this, real, this, std::cref(cond));
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Waiting(this, real, this, std::cref(cond), timeout);
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Waiting(this, real, this, std::cref(cond), deadline);
}

void CondVar::Wait(Mutex* mu) {
  static const auto real =
      Returning(Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE"));
  Waiting(mu, real, this, mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return Waiting(mu, real, this, mu, timeout);
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Waiting(mu, real, this, mu, deadline);
}

ABSL_NAMESPACE_END
}  // namespace absl
