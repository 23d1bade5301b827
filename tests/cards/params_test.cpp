#include <gtest/gtest.h>

#include "automl/error.h"
#include "automl/model.h"
#include "automl/params.h"

namespace automl {
namespace {

std::vector<ParamSpec> specs() {
  return {ParamSpec::real("learning_rate", 0.1).range(1e-4, 1.0).tune(0.01, 0.3).log().describe("step size"),
          ParamSpec::integer("max_depth", 6).range(1, 32).tune(2, 10).describe("deepest a tree may grow"),
          ParamSpec::choice("kind", {"a", "b"}, "a").describe("which kind")};
}

std::string error_of(const nlohmann::json& p) {
  try {
    validate_params("fam", specs(), p);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(Params, AcceptsValidSettings) {
  EXPECT_EQ(error_of({{"learning_rate", 0.05}, {"max_depth", 3}, {"kind", "b"}}), "");
  EXPECT_EQ(error_of(nlohmann::json::object()), "");
}

TEST(Params, RejectsUnknownKeyNamingTheClosest) {
  auto msg = error_of({{"learning_rat", 0.05}});
  EXPECT_NE(msg.find("no hyperparameter \"learning_rat\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("learning_rate"), std::string::npos) << msg;
}

TEST(Params, RangeErrorCarriesValueBoundAndDoc) {
  auto msg = error_of({{"max_depth", 64}});
  EXPECT_NE(msg.find("fam.max_depth = 64"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 32]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("deepest a tree may grow"), std::string::npos) << msg;
}

TEST(Params, RejectsWrongTypes) {
  EXPECT_NE(error_of({{"max_depth", 2.5}}).find("not an integer"), std::string::npos);
  EXPECT_NE(error_of({{"learning_rate", "fast"}}).find("not a number"), std::string::npos);
  EXPECT_NE(error_of({{"kind", "c"}}).find("one of a, b"), std::string::npos);
}

TEST(Params, SamplesStayInsideTheTuningRange) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    auto p = sample_params(specs(), rng);
    EXPECT_GE(p["learning_rate"].get<double>(), 0.01);
    EXPECT_LE(p["learning_rate"].get<double>(), 0.3);
    EXPECT_GE(p["max_depth"].get<int>(), 2);
    EXPECT_LE(p["max_depth"].get<int>(), 10);
    EXPECT_NO_THROW(validate_params("fam", specs(), p));
  }
}

TEST(Params, DefaultsFillMissingKeys) {
  auto p = with_defaults(specs(), {{"max_depth", 4}});
  EXPECT_EQ(p["max_depth"], 4);
  EXPECT_DOUBLE_EQ(p["learning_rate"].get<double>(), 0.1);
  EXPECT_EQ(p["kind"], "a");
}

// Every registered family's declaration is self-consistent: defaults and search
// ranges lie inside the valid ranges, and a sampled setting validates.
TEST(ModelRegistry, DeclarationsAreConsistent) {
  auto names = model_registry().names();
  for (const char* expected : {"constant", "linear", "xgboost"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected << " is not registered";
  }
  std::mt19937_64 rng(1);
  for (const auto* e : model_registry().entries()) {
    EXPECT_FALSE(e->description.empty()) << e->name;
    EXPECT_FALSE(e->tasks.empty()) << e->name;
    for (const auto& p : e->params) {
      EXPECT_FALSE(p.doc.empty()) << e->name << "." << p.name << " has no doc";
      if (p.type == ParamType::kInt || p.type == ParamType::kReal) {
        double d = p.default_value.get<double>();
        EXPECT_GE(d, p.valid_lo) << e->name << "." << p.name;
        EXPECT_LE(d, p.valid_hi) << e->name << "." << p.name;
        EXPECT_GE(p.tune_lo, p.valid_lo) << e->name << "." << p.name;
        EXPECT_LE(p.tune_hi, p.valid_hi) << e->name << "." << p.name;
      }
    }
    EXPECT_NO_THROW(validate_params(e->name, e->params, with_defaults(e->params, {})));
    EXPECT_NO_THROW(validate_params(e->name, e->params, sample_params(e->params, rng)));
    EXPECT_FALSE(e->card().dump().empty());
  }
}

TEST(ModelRegistry, UnknownFamilyNamesTheClosest) {
  try {
    model_registry().get("xgbost");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("did you mean: xgboost"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automl
