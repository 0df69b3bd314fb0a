"""Reports whether a .tflite maps fully to the EdgeTPU.

  bazel run //export:analyze_edgetpu -- --tflite=model.tflite
  bazel run //export:analyze_edgetpu -- --compiler_log=model_edgetpu.log

Exit status: 0 maps fully; 1 does not map fully (the report says where the CPU fallback
starts); 2 bad input (missing file, not a .tflite, not a compiler log, wrong flags), one line.
"""

from absl import app
from absl import flags

from ofa_tf import cli
from ofa_tf.export import compiler_log
from ofa_tf.export import edgetpu

_TFLITE = flags.DEFINE_string("tflite", None, ".tflite file to analyze.")
_COMPILER_LOG = flags.DEFINE_string("compiler_log", None, "edgetpu_compiler stdout or "
                                    "*_edgetpu.log to parse instead.")
_JSON = flags.DEFINE_bool("json", False, "Print the report as JSON.")


def main(argv):
  cli.run_from_invocation_directory()
  del argv
  if bool(_TFLITE.value) == bool(_COMPILER_LOG.value):
    raise app.UsageError("give exactly one of --tflite and --compiler_log")
  if _TFLITE.value:
    report = edgetpu.analyze_edgetpu(_TFLITE.value)
  else:
    with open(_COMPILER_LOG.value) as f:
      text = f.read()
    try:
      report = compiler_log.parse_compiler_log(text)
    except ValueError as e:
      raise ValueError(f"{_COMPILER_LOG.value}: {e}") from e
  print(report.to_json() if _JSON.value else report.format())
  return 0 if report.fully_mapped else 1


if __name__ == "__main__":
  cli.run(main)
