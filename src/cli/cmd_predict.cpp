#include <filesystem>
#include <fstream>
#include <iostream>

#include "automl/automl_gpt.h"
#include "commands.h"

namespace automl::cli {

Command add_predict(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "predict a CSV file with the saved model of a run");
  struct Flags {
    std::string run, file, out;
    ReadFlags read;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run", f->run, "a run folder (the one `automl-gpt run` printed) or its model/ folder")->required();
  cmd->add_option("file", f->file, "rows to predict: a CSV with the training columns (the target may be absent)")
      ->required();
  cmd->add_option("-o,--out", f->out, "write the predictions here instead of stdout");
  f->read.add_to(cmd);
  return {cmd, [f] {
            Pipeline p = load_pipeline(f->run);
            // A CSV file, or an image folder read at the training images' size.
            Table t = read_rows(f->file, p, f->read.options());
            auto pred = p.predict(t);
            if (f->out.empty()) {
              write_predictions(std::cout, p.target, pred, t.n_rows);
            } else {
              std::ofstream out(f->out);
              write_predictions(out, p.target, pred, t.n_rows);
              if (!out) throw_io("cannot write " + f->out);
            }
            return 0;
          }};
}

}  // namespace automl::cli
