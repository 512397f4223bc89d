// The `kerosene` command: train the classic Keras models, print their summaries, say which
// devices there are and why a GPU is or is not used.
//   kerosene train --model cnn --dataset mnist --epochs 1 --json
//   kerosene summary --model mlp
//   kerosene train --model mlp --epochs 3 --save m.keras --checkpoint ckpts --backup-dir backup
//   kerosene evaluate m.keras --dataset mnist
//   kerosene predict m.keras --input x.npy --output y.npy
//   kerosene summary m.keras
// Exit status: 0 success; 1 an error the user can fix (a message says what, where, expected
// against found); 2 a bad command line; 3 a bug in kerosene; 130 training stopped by Ctrl-C.
#include <CLI/CLI.hpp>

#include <iostream>
#include <new>

#include "cli/arguments.h"
#include "cli/device_commands.h"
#include "cli/file_commands.h"
#include "cli/model_source.h"
#include "cli/models.h"
#include "cli/train_command.h"
#include "cli/version.h"
#include "kerosene/kerosene.h"

namespace ks = kerosene;

int main(int argc, char** argv) {
  CLI::App app{"kerosene: Keras-style deep learning in C++, with devices under explicit control"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ks::cli::version_text, "Print the version and what this build includes, and exit");

  ks::cli::TrainArgs train_args;
  auto* train = ks::cli::add_train_command(app, train_args);

  bool devices_json = false, doctor_json = false;
  auto* devices = app.add_subcommand("devices", "List physical and logical devices, with memory");
  devices->add_flag("--json", devices_json, "print one JSON object");
  auto* doctor = app.add_subcommand("doctor", "Check every reason a GPU could not be used; exit 0 when one is usable, 1 when not");
  doctor->add_flag("--json", doctor_json, "print one JSON object");

  ks::cli::EvaluateArgs evaluate_args;
  auto* evaluate = ks::cli::add_evaluate_command(app, evaluate_args);
  ks::cli::PredictArgs predict_args;
  auto* predict = ks::cli::add_predict_command(app, predict_args);

  std::string summary_model = "cnn", summary_file;
  auto* summary = app.add_subcommand("summary", "Print a model's summary table: a built-in one or a model file's");
  auto* summary_path = summary->add_option("file", summary_file, "a model file (.keras, .h5)")->check(ks::cli::model_file_name());
  summary->add_option("--model", summary_model, ks::cli::built_in_model_names() + " or a model file")->check(ks::cli::model_name())->excludes(summary_path);

  if (const int status = ks::cli::parse_command_line(app, argc, argv); status >= 0) return status;
  // An error in one worker must end every worker: the others would wait for it.
  auto fail = [](int status) {
    if (ks::cli::running_multi_worker()) ks::distribute::abort_all_workers(status);
    return status;
  };
  try {
    if (*train) return ks::cli::run_train(train_args);
    if (*devices) return ks::cli::run_devices(devices_json);
    if (*doctor) return ks::cli::run_doctor(doctor_json);
    if (*evaluate) return ks::cli::run_evaluate(evaluate_args);
    if (*predict) return ks::cli::run_predict(predict_args);
    if (*summary) {
      const std::string& name = summary_file.empty() ? summary_model : summary_file;
      // A file's summary needs no optimizer: one kerosene cannot compile does not stop it.
      (ks::cli::is_model_file(name) ? ks::cli::load_model_file(name, /*compile=*/false) : ks::cli::model_from(name))
          .summary();
      return 0;
    }
  } catch (const ks::Error& e) {
    std::cerr << "kerosene: error: " << e.what() << std::endl;
    return fail(1);
  } catch (const std::bad_alloc&) {
    // Every allocation that a file or flag sizes names itself (ResourceExhaustedError); one that
    // gets here is an ordinary one on a machine that is out of memory.
    std::cerr << "kerosene: error: out of memory: the machine could not give kerosene the memory it asked for "
                 "(std::bad_alloc); free memory, or lower --batch-size"
              << std::endl;
    return fail(1);
  } catch (const std::exception& e) {
    std::cerr << "kerosene: internal error: " << e.what() << std::endl;
    return fail(3);
  }
  return 0;
}
