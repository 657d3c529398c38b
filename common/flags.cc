#include "common/flags.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"
#include "common/logging.h"

namespace taskgrid {
namespace {

constexpr char kLogFormatFlag[] = "log-format";

std::string EnvName(const std::string& flag) {
  std::string env = "TASKGRID_";
  for (char c : flag) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

absl::StatusOr<std::string> NormalizeBool(const std::string& flag, absl::string_view text) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on") return std::string("true");
  if (t == "false" || t == "0" || t == "no" || t == "off") return std::string("false");
  return absl::InvalidArgumentError(
      absl::StrCat("flag --", flag, ": \"", text, "\" is not a boolean"));
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Parses a finite, non-negative decimal number that must use all of `text`.
bool ParseNonNegative(absl::string_view text, double* out) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' &&
        c != 'E' && c != '+' && c != '-') {
      return false;  // also rules out strtod's hex, "inf" and "nan"
    }
  }
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<Flags> Flags::Parse(int argc, char** argv,
                                   const std::vector<std::string>& known,
                                   const std::vector<std::string>& boolean) {
  Flags flags;
  auto is_known = [&](const std::string& n) {
    return Contains(known, n) || Contains(boolean, n) || n == kLogFormatFlag;
  };
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      flags.positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    absl::string_view body = absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
    std::string name(body.substr(0, body.find('=')));
    std::optional<std::string> value;
    if (body.find('=') != absl::string_view::npos) value = std::string(body.substr(body.find('=') + 1));
    if (!is_known(name)) {
      std::string dashed = name;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      if (is_known(dashed)) {
        name = dashed;
      } else if (absl::StartsWith(name, "no-") && Contains(boolean, name.substr(3)) && !value) {
        flags.values_[name.substr(3)].push_back("false");
        continue;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg.substr(0, arg.find('='))));
      }
    }
    if (Contains(boolean, name)) {
      absl::StatusOr<std::string> b = NormalizeBool(name, value.value_or("true"));
      if (!b.ok()) return b.status();
      flags.values_[name].push_back(*b);
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      value = argv[++i];
    }
    flags.values_[name].push_back(*std::move(value));
  }
  // The environment fills in what the command line left unset.
  const std::vector<std::string> process_wide = {kLogFormatFlag};
  for (const auto* names : {&known, &boolean, &process_wide}) {
    for (const std::string& name : *names) {
      if (flags.values_.count(name)) continue;
      const char* env = std::getenv(EnvName(name).c_str());
      if (env == nullptr) continue;
      if (Contains(boolean, name)) {
        absl::StatusOr<std::string> b = NormalizeBool(name, env);
        if (!b.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(EnvName(name), ": \"", env, "\" is not a boolean"));
        }
        flags.values_[name].push_back(*b);
      } else {
        flags.values_[name].push_back(env);
      }
    }
  }
  if (flags.Has(kLogFormatFlag)) {
    absl::Status s = SetLogFormat(flags.GetString(kLogFormatFlag, "text"));
    if (!s.ok()) return s;
  }
  return flags;
}

std::string Flags::GetString(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second.back();
}

absl::StatusOr<int64_t> Flags::GetInt(const std::string& name, int64_t def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  int64_t v;
  if (!absl::SimpleAtoi(it->second.back(), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, ": \"", it->second.back(), "\" is not an integer"));
  }
  return v;
}

bool Flags::GetBool(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.back() == "true";
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Flags::Has(const std::string& name) const { return values_.count(name) > 0; }

absl::StatusOr<int64_t> ParseByteSize(std::string_view std_text) {
  const absl::string_view text = ToAbsl(std_text);
  auto error = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid byte size \"", text, "\" (examples: 4GiB, 512MB, 1e9)"));
  };
  absl::string_view t = absl::StripAsciiWhitespace(text);
  size_t unit_at = 0;
  while (unit_at < t.size() && !std::isalpha(static_cast<unsigned char>(t[unit_at]))) ++unit_at;
  // An 'e'/'E' followed by a digit or sign is an exponent, not a unit.
  while (unit_at < t.size() && (t[unit_at] == 'e' || t[unit_at] == 'E') &&
         unit_at + 1 < t.size() &&
         (std::isdigit(static_cast<unsigned char>(t[unit_at + 1])) || t[unit_at + 1] == '+' ||
          t[unit_at + 1] == '-')) {
    ++unit_at;
    while (unit_at < t.size() && !std::isalpha(static_cast<unsigned char>(t[unit_at]))) ++unit_at;
  }
  double number;
  if (!ParseNonNegative(absl::StripTrailingAsciiWhitespace(t.substr(0, unit_at)), &number)) {
    return error();
  }
  std::string unit = absl::AsciiStrToLower(t.substr(unit_at));
  // Dask's convention: k/kB/KB powers of 1000, KiB powers of 1024.
  static const struct { const char* unit; double scale; } kUnits[] = {
      {"", 1}, {"b", 1},
      {"k", 1e3}, {"kb", 1e3}, {"m", 1e6}, {"mb", 1e6},
      {"g", 1e9}, {"gb", 1e9}, {"t", 1e12}, {"tb", 1e12}, {"p", 1e15}, {"pb", 1e15},
      {"ki", 1024.0}, {"kib", 1024.0}, {"mi", 1048576.0}, {"mib", 1048576.0},
      {"gi", 1073741824.0}, {"gib", 1073741824.0},
      {"ti", 1099511627776.0}, {"tib", 1099511627776.0},
      {"pi", 1125899906842624.0}, {"pib", 1125899906842624.0},
  };
  for (const auto& u : kUnits) {
    if (unit != u.unit) continue;
    double bytes = std::round(number * u.scale);
    if (!(bytes < 9.2e18)) return error();
    return static_cast<int64_t>(bytes);
  }
  return error();
}

absl::StatusOr<std::map<std::string, double>> ParseResources(std::string_view std_text) {
  const absl::string_view text = ToAbsl(std_text);
  std::map<std::string, double> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource \"", item, "\" is not NAME=AMOUNT"));
    }
    std::string name(absl::StripAsciiWhitespace(item.substr(0, eq)));
    absl::string_view amount = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("resource \"", item, "\" has no name"));
    }
    double v;
    if (!ParseNonNegative(amount, &v)) {
      // Memory-like resources may be written as sizes: MEMORY=2GiB.
      absl::StatusOr<int64_t> bytes = ParseByteSize(ToStd(amount));
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "resource ", name, ": \"", amount, "\" is not a non-negative number"));
      }
      v = static_cast<double>(*bytes);
    }
    if (!out.emplace(name, v).second) {
      return absl::InvalidArgumentError(absl::StrCat("resource ", name, " given twice"));
    }
  }
  return out;
}

std::string ResolveSchedulerAddress(const std::string& explicit_address) {
  std::string address = explicit_address;
  if (address.empty()) {
    const char* env = std::getenv("TASKGRID_SCHEDULER_ADDRESS");
    if (env != nullptr) address = env;
  }
  if (address.empty()) return "127.0.0.1:8786";
  // Dask users write tcp://host:port; gRPC wants host:port.
  return std::string(absl::StripPrefix(address, "tcp://"));
}

}  // namespace taskgrid
