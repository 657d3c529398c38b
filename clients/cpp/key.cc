#include "clients/cpp/key.h"

// OpenSSL 3 deprecates the direct MD5 functions in favour of EVP, whose
// per-call provider dispatch costs several times the hash of a small task
// (measured ~0.6 us against ~0.15 us): keys for a 20k-task map are made on
// the submit path, so the direct functions are worth the warning.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>

namespace taskgrid::client {
namespace {

using Digest = std::array<unsigned char, 16>;

// Payloads larger than this enter the canonical encoding as their own
// digest, so hashing a large argument never copies it.
constexpr size_t kInlinePayloadBytes = 256;

Digest Md5(std::string_view data) {
  Digest out;
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, data.data(), data.size());
  MD5_Final(out.data(), &ctx);
  return out;
}

void AppendHex(const unsigned char* bytes, size_t n, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out->push_back(kHex[bytes[i] >> 4]);
    out->push_back(kHex[bytes[i] & 15]);
  }
}

void AppendU64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 8);
}

// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
void AppendBytes(std::string_view s, std::string* out) {
  AppendU64(s.size(), out);
  out->append(s);
}

void AppendPayload(std::string_view s, std::string* out) {
  if (s.size() <= kInlinePayloadBytes) {
    out->push_back('i');
    AppendBytes(s, out);
    return;
  }
  Digest d = Md5(s);
  out->push_back('h');
  AppendU64(s.size(), out);
  out->append(reinterpret_cast<const char*>(d.data()), d.size());
}

// Fixed-width integers avoid the question of which varint form is
// canonical, and 8 bytes per scalar is nothing next to the hashing.
constexpr char kTag[] = "nbidsBlmapr";  // indexed by Value::Kind

}  // namespace

void AppendCanonical(const Value& v, std::string* out) {
  out->push_back(kTag[static_cast<int>(v.kind())]);
  switch (v.kind()) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kBool:
      out->push_back(v.as_bool() ? 1 : 0);
      break;
    case Value::Kind::kInt:
      AppendU64(static_cast<uint64_t>(v.as_int()), out);
      break;
    case Value::Kind::kDouble: {
      double d = v.as_double();
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      AppendU64(bits, out);
      break;
    }
    case Value::Kind::kString:
      AppendBytes(v.as_string(), out);
      break;
    case Value::Kind::kBytes:
      AppendPayload(v.as_bytes().view(), out);
      break;
    case Value::Kind::kPickle:
      AppendPayload(v.as_pickle().view(), out);
      break;
    case Value::Kind::kRef:
      AppendBytes(v.as_ref(), out);
      break;
    case Value::Kind::kList:
      AppendU64(v.as_list().size(), out);
      for (const Value& item : v.as_list()) AppendCanonical(item, out);
      break;
    case Value::Kind::kMap:
      AppendU64(v.as_map().size(), out);
      for (const auto& [k, item] : v.as_map()) {  // std::map: sorted
        AppendBytes(k, out);
        AppendCanonical(item, out);
      }
      break;
    case Value::Kind::kArray: {
      const NDArray& a = v.as_array();
      AppendBytes(DTypeName(a.dtype), out);
      AppendU64(a.shape.size(), out);
      for (int64_t dim : a.shape) AppendU64(static_cast<uint64_t>(dim), out);
      AppendPayload(a.data.view(), out);
      break;
    }
  }
}

KeyTokenizer::KeyTokenizer(const std::string& fn, const SubmitOptions& opts,
                           const std::string& name)
    : name_(name.empty() ? fn : name) {
  // Every TaskSpec field the client fills in except the key and the
  // positional arguments: the scheduler rejects a key reused with a
  // different definition, so two calls may share a key only when their
  // whole specs agree.
  AppendBytes(fn, &prefix_);
  AppendBytes(opts.runtime.empty() ? "builtin" : opts.runtime, &prefix_);
  AppendCanonical(Value::Map(opts.kwargs), &prefix_);
  AppendU64(static_cast<uint64_t>(opts.retries), &prefix_);
  AppendU64(static_cast<uint64_t>(opts.priority), &prefix_);
  AppendU64(opts.workers.size(), &prefix_);
  for (const std::string& w : opts.workers) AppendBytes(w, &prefix_);
  prefix_.push_back(opts.allow_other_workers ? 1 : 0);
  AppendU64(opts.resources.size(), &prefix_);
  for (const auto& [name, amount] : opts.resources) {
    AppendBytes(name, &prefix_);
    AppendCanonical(Value::Double(amount), &prefix_);
  }
}

std::string KeyTokenizer::PureKey(absl::Span<const Value> args) const {
  thread_local std::string buffer;
  buffer.assign(prefix_);
  AppendU64(args.size(), &buffer);
  for (const Value& a : args) AppendCanonical(a, &buffer);
  Digest d = Md5(buffer);
  std::string key;
  key.reserve(name_.size() + 1 + 2 * d.size());
  key.append(name_).push_back('-');
  AppendHex(d.data(), d.size(), &key);
  return key;
}

std::string UniqueKey(const std::string& fn) {
  // A random per-process base plus a counter, mixed by a bijection
  // (splitmix64's finaliser), gives distinct tokens without locking.
  static const std::array<uint64_t, 2> base = [] {
    std::random_device rd;
    auto r64 = [&rd] { return (uint64_t{rd()} << 32) ^ rd(); };
    return std::array<uint64_t, 2>{r64(), r64()};
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t z = base[1] + counter.fetch_add(1, std::memory_order_relaxed) *
                             0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(base[0] >> (8 * i));
    bytes[8 + i] = static_cast<unsigned char>(z >> (8 * i));
  }
  std::string key;
  key.reserve(fn.size() + 33);
  key.append(fn).push_back('-');
  AppendHex(bytes, sizeof bytes, &key);
  return key;
}

}  // namespace taskgrid::client
