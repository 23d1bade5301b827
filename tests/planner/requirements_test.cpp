#include <gtest/gtest.h>

#include "automl/error.h"
#include "automl/requirements.h"

namespace automl {
namespace {

TEST(Requirements, ParsesTheArticlesExample) {
  auto r = parse_requirements("ROC AUC; train within 2 minutes; model under 5 MB; must be explainable");
  EXPECT_EQ(r.metric, "roc_auc");
  EXPECT_DOUBLE_EQ(r.max_train_s, 120);
  EXPECT_DOUBLE_EQ(r.max_model_mb, 5);
  EXPECT_TRUE(r.explainable);
  EXPECT_TRUE(r.unrecognised.empty());
}

TEST(Requirements, UnitsAndSeparators) {
  auto r = parse_requirements("rmse, train in less than 90 s\npredict under 200 us per row, model below 512 KB");
  EXPECT_EQ(r.metric, "rmse");
  EXPECT_DOUBLE_EQ(r.max_train_s, 90);
  EXPECT_DOUBLE_EQ(r.max_predict_ms_per_row, 0.2);
  EXPECT_DOUBLE_EQ(r.max_model_mb, 0.5);
  EXPECT_FALSE(r.explainable);
  EXPECT_DOUBLE_EQ(parse_requirements("train within 1.5 hours").max_train_s, 5400);
}

TEST(Requirements, KeepsWhatItDoesNotUnderstand) {
  auto r = parse_requirements("accuracy; be fair to every group");
  EXPECT_EQ(r.metric, "accuracy");
  ASSERT_EQ(r.unrecognised.size(), 1u);
  EXPECT_EQ(r.unrecognised[0], "be fair to every group");
  EXPECT_TRUE(parse_requirements("").unrecognised.empty());
}

TEST(Requirements, UnreadableLimitsAreErrors) {
  EXPECT_THROW(parse_requirements("train within a while"), Error);
  EXPECT_THROW(parse_requirements("model under 5 apples"), Error);
  try {
    parse_requirements("predict under 3 parsecs");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("predict under 3 parsecs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automl
