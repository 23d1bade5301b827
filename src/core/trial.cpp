#include "automl/trial.h"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "automl/error.h"

namespace automl {
namespace {

constexpr std::array<std::pair<TrialStatus, const char*>, 6> kStatusNames{{
    {TrialStatus::kProposed, "proposed"},
    {TrialStatus::kRunning, "running"},
    {TrialStatus::kFinished, "finished"},
    {TrialStatus::kFailed, "failed"},
    {TrialStatus::kPruned, "pruned"},
    {TrialStatus::kStopped, "stopped"},
}};

constexpr std::array<std::pair<StopReason, const char*>, 13> kStopNames{{
    {StopReason::kNone, "none"},
    {StopReason::kConverged, "converged"},
    {StopReason::kCompleted, "completed"},
    {StopReason::kFitted, "fitted"},
    {StopReason::kRoundCap, "round cap"},
    {StopReason::kDeadline, "deadline"},
    {StopReason::kTimeBox, "time box"},
    {StopReason::kNoFoldRan, "no fold ran"},
    {StopReason::kPruned, "pruned"},
    {StopReason::kRequirementBroken, "requirement broken"},
    {StopReason::kUndefinedScore, "undefined score"},
    {StopReason::kError, "error"},
    {StopReason::kNotKept, "not kept"},
}};

constexpr std::array<std::pair<FitStop, const char*>, 6> kFitStopNames{{
    {FitStop::kCompleted, "completed"},
    {FitStop::kEarlyStopping, "early stopping"},
    {FitStop::kConverged, "converged"},
    {FitStop::kIterationLimit, "iteration limit"},
    {FitStop::kDeadline, "deadline"},
    {FitStop::kCaller, "stopped by caller"},
}};

template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& names, E value, const char* what) {
  for (const auto& [v, n] : names) {
    if (v == value) return n;
  }
  throw_internal(fmt::format("{} {} has no name", what, static_cast<int>(value)));
}

template <typename E, std::size_t N>
E value_of(const std::array<std::pair<E, const char*>, N>& names, const std::string& text, const char* what) {
  std::vector<std::string> allowed;
  for (const auto& [v, n] : names) {
    if (text == n) return v;
    allowed.push_back(fmt::format("\"{}\"", n));
  }
  throw_invalid(fmt::format("unknown {} \"{}\" (expected one of {})", what, text, fmt::join(allowed, ", ")));
}

}  // namespace

const char* to_string(TrialStatus s) { return name_of(kStatusNames, s, "trial status"); }
const char* to_string(StopReason r) { return name_of(kStopNames, r, "stop reason"); }

TrialStatus parse_trial_status(const std::string& text) {
  // Leaderboards, stores and knowledge bases written before the statuses were named
  // said "stopped early" for every trial cut short (the pruned ones too: their reason
  // text starts "pruned:"), and "not kept" for an ensemble the run left out.
  if (text == "stopped early") return TrialStatus::kStopped;
  if (text == "not kept") return TrialStatus::kFinished;
  return value_of(kStatusNames, text, "trial status");
}

StopReason parse_stop_reason(const std::string& text) { return value_of(kStopNames, text, "stop reason"); }

const char* to_string(FitStop s) { return name_of(kFitStopNames, s, "fit stop"); }
FitStop parse_fit_stop(const std::string& text) { return value_of(kFitStopNames, text, "fit stop"); }

}  // namespace automl
