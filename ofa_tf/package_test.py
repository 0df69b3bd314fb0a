"""Tests of the pip package: declared ranges against the pins, the wheel, the installed command.

The wheel is built from a copy of the checkout (pip builds in the source tree, which must stay
clean) and installed into a fresh virtual environment outside the checkout; `ofa-tf` then
runs from another directory with no PYTHONPATH, so it can only use what the wheel installed.

That environment reuses this interpreter's installed dependencies rather than downloading
TensorFlow again: it is created without pip and without system site packages, and a `.pth`
file appends this environment's site-packages after its own (its own wheel's `ofa_tf` comes
first; the test checks that the imported modules are the installed ones). pip then installs the
wheel with `--no-index`, resolving the declared ranges against the pinned packages already
installed: seconds, no network. `.ci/run` installs the same wheel with its dependencies from
PyPI into an environment that shares nothing.

The wheel is built without build isolation, with the setuptools (>= 64) of this environment
(Python 3.11's `venv` installs one), so the test needs no network either.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import tensorflow as tf

from ofa_tf import main as main_lib

# The checkout: under Bazel, pyproject.toml is a data dependency whose runfiles symlink leads
# back to the source tree, which is what pip builds.
ROOT = os.path.dirname(os.path.realpath(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")))
_TFLITE = os.path.join(ROOT, "testdata", "latency", "tiny_conv_fp32.tflite")
_PACKAGE_SOURCES = ("pyproject.toml", "README.md", "ofa_tf", "trainers", "export")


def _pyproject():
  with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    return tomllib.load(f)


def _pins():
  """{canonical name: version} of requirements.txt's `name==version` lines."""
  pins = {}
  with open(os.path.join(ROOT, "requirements.txt")) as f:
    for line in f:
      line = line.split("#", 1)[0].strip()
      if line:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = spec.version
  return pins


def _run(args, cwd, env=None, timeout=300):
  return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=timeout)


class InstalledPackage:
  """Builds the wheel and installs it into a fresh virtual environment (see module doc)."""

  def __init__(self):
    self.tmp = tempfile.mkdtemp(prefix="ofa_tf_package_")
    source = os.path.join(self.tmp, "source")
    for name in _PACKAGE_SOURCES:
      path = os.path.join(ROOT, name)
      if os.path.isdir(path):
        shutil.copytree(path, os.path.join(source, name),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
      else:
        os.makedirs(source, exist_ok=True)
        shutil.copy(path, source)
    dist = os.path.join(self.tmp, "dist")
    self.check(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                     "--no-index", "--disable-pip-version-check", "-w", dist, source],
                    cwd=self.tmp), "pip wheel")
    (self.wheel,) = [os.path.join(dist, n) for n in os.listdir(dist) if n.endswith(".whl")]
    self.venv = os.path.join(self.tmp, "venv")
    self.check(_run([sys.executable, "-m", "venv", "--without-pip", self.venv], cwd=self.tmp),
               "venv")
    self.bin = os.path.join(self.venv, "bin")
    python = os.path.join(self.bin, "python")
    site_packages = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                          "['purelib'])"], cwd=self.tmp).stdout.strip()
    reused = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    with open(os.path.join(site_packages, "_ofa_tf_test_reuse.pth"), "w") as f:
      f.write("".join(f"import site; site.addsitedir({p!r})\n" for p in reused))
    self.check(_run([python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                     "--disable-pip-version-check", self.wheel], cwd=self.tmp), "pip install")
    # Another directory, no PYTHONPATH: only what the wheel installed can be imported.
    self.cwd = os.path.join(self.tmp, "elsewhere")
    os.makedirs(self.cwd)
    self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

  @staticmethod
  def check(run, what):
    if run.returncode != 0:
      raise RuntimeError(f"{what} failed ({run.returncode}):\n{run.stdout[-3000:]}\n"
                         f"{run.stderr[-3000:]}")

  def run(self, program, *args, timeout=300):
    return _run([os.path.join(self.bin, program), *args], cwd=self.cwd, env=self.env,
                timeout=timeout)

  def remove(self):
    shutil.rmtree(self.tmp, ignore_errors=True)


class DependencyRangesTest(tf.test.TestCase):

  def test_every_pin_lies_in_its_declared_range(self):
    project = _pyproject()["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    extras = [Requirement(r) for rs in project["optional-dependencies"].values() for r in rs]
    pins = _pins()
    for requirement in declared + extras:
      name = canonicalize_name(requirement.name)
      if name == "torch":  # Optional cross-check only; not pinned (see the torch extra).
        continue
      self.assertIn(name, pins, msg=f"{requirement} has no pin in requirements.txt")
      self.assertTrue(requirement.specifier.contains(pins[name]),
                      msg=f"requirements.txt pins {name}=={pins[name]} outside {requirement}")
    names = {canonicalize_name(r.name) for r in declared + extras}
    self.assertEmpty(set(pins) - names, msg="pins that pyproject.toml does not declare")

  def test_script_and_version(self):
    project = _pyproject()["project"]
    self.assertEqual(project["scripts"], {"ofa-tf": "ofa_tf.main:main"})
    self.assertRegex(project["version"], r"^\d+\.\d+\.\d+$")


class InstalledPackageTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.package = InstalledPackage()

  @classmethod
  def tearDownClass(cls):
    cls.package.remove()
    super().tearDownClass()

  def test_wheel_holds_the_library_and_binaries_only(self):
    with zipfile.ZipFile(self.package.wheel) as wheel:
      names = set(wheel.namelist())
      entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt")))
    expected = set()
    for package in ("ofa_tf", "trainers", "export"):
      for directory, _, files in os.walk(os.path.join(ROOT, package)):
        expected |= {os.path.relpath(os.path.join(directory, f), ROOT) for f in files
                     if f.endswith(".py")}
    self.assertEmpty(expected - names, msg="sources missing from the wheel (an __init__.py?)")
    self.assertIn("export/compile_edgetpu.sh", names)
    self.assertEmpty([n for n in names if n.endswith("BUILD") or n.startswith("testdata/")])
    self.assertIn("ofa-tf = ofa_tf.main:main", entry_points.decode())

  def test_imports_come_from_the_installed_wheel(self):
    run = self.package.run("python", "-c", "import ofa_tf, trainers.search, export; print("
                           "ofa_tf.__file__, trainers.search.__file__, export.__file__)")
    self.assertEqual(run.returncode, 0, msg=run.stderr)
    self.assertLen(run.stdout.split(), 3)
    for path in run.stdout.split():
      self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(self.package.venv)),
                      msg=f"{path} is not the installed package")
    run = self.package.run("python", "-m", "pip", "check")
    self.assertEqual(run.returncode, 0, msg=run.stdout + run.stderr)

  def test_command_lists_subcommands_and_runs_them(self):
    run = self.package.run("ofa-tf", "--help")
    self.assertEqual(run.returncode, 0, msg=run.stderr)
    for name in main_lib.SUBCOMMANDS:
      self.assertRegex(run.stdout, rf"\n  {re.escape(name)} ")
    run = self.package.run("ofa-tf", "--version")
    self.assertEqual(run.stdout.strip(), f"ofa-tf {_pyproject()['project']['version']}")
    run = self.package.run("ofa-tf", "train", "--help")
    self.assertIn("--preset: Preset: one of", run.stdout, msg=run.stderr)
    self.assertNotIn("--constraint", run.stdout)
    # A real run of a binary: the analyzer on a float .tflite (4 ops, none int8: exit 1).
    run = self.package.run("ofa-tf", "analyze-edgetpu", f"--tflite={_TFLITE}")
    self.assertEqual(run.returncode, 1, msg=run.stderr[-2000:])
    self.assertIn("Number of operations that will run on CPU: 4", run.stdout)

  def test_script_subcommand_finds_its_analyzer(self):
    if shutil.which("edgetpu_compiler"):
      self.skipTest("edgetpu_compiler is installed: the script compiles instead")
    # Without the compiler the script runs the installed analyzer through $PYTHON (exit 2).
    run = self.package.run("ofa-tf", "compile-edgetpu", _TFLITE)
    self.assertEqual(run.returncode, 2, msg=run.stderr[-2000:])
    self.assertIn("edgetpu_compiler is not installed", run.stderr)
    self.assertIn("Number of operations that will run on CPU: 4", run.stdout)


if __name__ == "__main__":
  tf.test.main()
