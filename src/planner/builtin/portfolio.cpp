// The built-in planner's opening moves: each family declares its own proven
// settings with their place in the order (ModelEntry::portfolio); here they are
// gathered and merged, cheap first. They run before any random search so that even
// a tiny budget ends with a sound model.
#include <algorithm>

#include "automl/planner.h"

namespace automl {

std::vector<Proposal> family_portfolio(const PortfolioContext& ctx, const std::vector<std::string>& families) {
  auto allowed = [&](const std::string& f) {
    return families.empty() || std::find(families.begin(), families.end(), f) != families.end();
  };
  std::vector<std::pair<double, Proposal>> found;
  for (const auto* e : model_registry().entries()) {
    if (!e->portfolio || !allowed(e->name)) continue;
    if (ctx.card && !e->serves(ctx.card->modality)) continue;
    if (e->max_rows > 0 && ctx.rows > e->max_rows) continue;
    for (auto& s : e->portfolio(ctx)) found.push_back({s.order, {e->name, std::move(s.params), std::move(s.why)}});
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Proposal> out;
  for (auto& [order, p] : found) out.push_back(std::move(p));
  return out;
}

std::vector<Proposal> default_portfolio(Task task, std::size_t n_rows, const std::vector<std::string>& families) {
  PortfolioContext ctx;
  ctx.task = task;
  ctx.rows = n_rows;
  return family_portfolio(ctx, families);
}

}  // namespace automl
