#include <gtest/gtest.h>

#include <cmath>

#include "automl/error.h"
#include "automl/metrics.h"

namespace automl {
namespace {

Target binary() {
  Target t;
  t.task = Task::kBinary;
  t.classes = {"no", "yes"};
  t.positive = 1;
  return t;
}

TEST(Metrics, RocAucMatchesHandComputedValue) {
  // Scores for the positive class; pairs (pos, neg): 3 of 4 ordered right.
  std::vector<double> y = {0, 0, 1, 1};
  std::vector<double> p = {0.9, 0.1, 0.5, 0.5, 0.6, 0.4, 0.3, 0.7};
  EXPECT_DOUBLE_EQ(compute_metric("roc_auc", binary(), y, p), 0.75);
}

TEST(Metrics, RocAucCountsTiesAsHalf) {
  std::vector<double> y = {0, 1};
  std::vector<double> p = {0.5, 0.5, 0.5, 0.5};
  EXPECT_DOUBLE_EQ(compute_metric("roc_auc", binary(), y, p), 0.5);
}

TEST(Metrics, ClassificationMetrics) {
  Target t;
  t.task = Task::kMulticlass;
  t.classes = {"a", "b", "c"};
  std::vector<double> y = {0, 1, 2, 2};
  std::vector<double> p = {0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.6, 0.2, 0.2};
  EXPECT_DOUBLE_EQ(compute_metric("accuracy", t, y, p), 0.75);
  double ll = -(std::log(0.8) + std::log(0.7) + std::log(0.7) + std::log(0.2)) / 4;
  EXPECT_NEAR(compute_metric("log_loss", t, y, p), ll, 1e-12);
  // F1: a = 2/3 (tp 1, fp 1), b = 1, c = 2/3 (tp 1, fn 1).
  EXPECT_NEAR(compute_metric("macro_f1", t, y, p), (2.0 / 3 + 1 + 2.0 / 3) / 3, 1e-12);
}

TEST(Metrics, RegressionMetrics) {
  Target t;
  t.task = Task::kRegression;
  std::vector<double> y = {1, 2, 3, 4};
  std::vector<double> p = {1, 2, 3, 6};
  EXPECT_DOUBLE_EQ(compute_metric("rmse", t, y, p), 1.0);
  EXPECT_DOUBLE_EQ(compute_metric("mae", t, y, p), 0.5);
  EXPECT_DOUBLE_EQ(compute_metric("r2", t, y, p), 1.0 - 4.0 / 5.0);
}

TEST(Metrics, DirectionAndFit) {
  EXPECT_TRUE(metric_better("rmse", 1.0, 2.0));
  EXPECT_TRUE(metric_better("roc_auc", 0.9, 0.8));
  EXPECT_FALSE(metric_better("roc_auc", NAN, 0.8));
  EXPECT_THROW(check_metric_for_task("rmse", Task::kBinary), Error);
  EXPECT_THROW(check_metric_for_task("roc_auc", Task::kMulticlass), Error);
  EXPECT_NO_THROW(check_metric_for_task("macro_f1", Task::kMulticlass));
  try {
    metric_info("auc");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("roc_auc"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automl
