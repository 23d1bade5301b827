// Trial statuses and stop reasons: one name each, read back, and the old names.
#include <gtest/gtest.h>

#include "automl/error.h"
#include "automl/trial.h"

namespace automl {
namespace {

TEST(TrialStatus, EveryNameReadsBackAsItsValue) {
  for (auto s : {TrialStatus::kProposed, TrialStatus::kRunning, TrialStatus::kFinished, TrialStatus::kFailed,
                 TrialStatus::kPruned, TrialStatus::kStopped}) {
    EXPECT_EQ(parse_trial_status(to_string(s)), s) << to_string(s);
  }
  for (auto r : {StopReason::kNone, StopReason::kConverged, StopReason::kCompleted, StopReason::kFitted,
                 StopReason::kRoundCap, StopReason::kDeadline, StopReason::kTimeBox, StopReason::kNoFoldRan,
                 StopReason::kPruned, StopReason::kRequirementBroken, StopReason::kUndefinedScore, StopReason::kError,
                 StopReason::kNotKept}) {
    EXPECT_EQ(parse_stop_reason(to_string(r)), r) << to_string(r);
  }
  EXPECT_STREQ(to_string(TrialStatus::kFinished), "finished");
  EXPECT_STREQ(to_string(StopReason::kRoundCap), "round cap");
}

TEST(TrialStatus, OldFilesNamesAreReadAndUnknownTextIsRefused) {
  EXPECT_EQ(parse_trial_status("stopped early"), TrialStatus::kStopped);
  EXPECT_EQ(parse_trial_status("not kept"), TrialStatus::kFinished);
  try {
    parse_trial_status("halted");
    FAIL() << "an unknown status was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("\"halted\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"finished\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_stop_reason("budget ran out"), Error);
}

TEST(TrialStatus, AFailedTrialIsNotUsable) {
  TrialResult t;
  t.fold_scores = {0.8};
  t.status = TrialStatus::kFinished;
  EXPECT_TRUE(t.usable());
  t.status = TrialStatus::kFailed;
  EXPECT_FALSE(t.usable());
}

}  // namespace
}  // namespace automl
