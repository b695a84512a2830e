"""What the Placement benchmarks share: where things are, building the release binaries,
the generated 1M-row database (made once into bench/out/ and reused), and a fresh working
directory that runs the example's grafter.toml against it."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "grafter-target"))
# The `profiling` profile: release code with line tables (the shipped `release` is stripped).
RELEASE = TARGET_DIR / "profiling"
GRAFTER = RELEASE / "grafter"
# The example's database generator (not part of the grafter binary).
GENERATOR = RELEASE / "placement-generator"


def in_project_python(module, script):
    """Re-runs `script` with the project's virtualenv (`scripts/falkordb python`, which has the
    Python clients) unless `module` can be imported here already."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("GRAFTER_BENCH_REEXEC"):
            raise SystemExit(f"{script}: the `{module}` module is missing from `scripts/falkordb python`'s virtualenv")
        python = subprocess.run([ROOT / "scripts" / "falkordb", "python"], check=True, capture_output=True, text=True).stdout.strip()
        os.environ["GRAFTER_BENCH_REEXEC"] = "1"
        os.execv(python, [python, script, *sys.argv[1:]])


def build(*packages):
    """Builds the given workspace packages with the `profiling` profile (release code, line
    tables kept), into the persistent target dir."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET_DIR))
    selected = [arg for package in packages for arg in ("-p", package)]
    subprocess.run(["cargo", "build", "--profile", "profiling", "-q", *selected], cwd=ROOT, env=env, check=True)


def database(rows):
    """The Placement database of about `rows` source rows, generated on first use.
    Returns its directory (bench/out/placement-ROWS) and its path."""
    work = OUT / f"placement-{rows}"
    work.mkdir(parents=True, exist_ok=True)
    path = work / "placement.sqlite"
    if not path.exists():
        build("placement-generator")
        subprocess.run([GENERATOR, "--rows", str(rows), "-o", path], check=True, stdout=subprocess.DEVNULL)
    return work, path


def fresh_dir(work, name, database_path):
    """An empty directory `work/name` holding the example's grafter.toml and a link to the
    database, so a run there starts from nothing."""
    path = work / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()
    shutil.copy(ROOT / "examples" / "placement" / "grafter.toml", path / "grafter.toml")
    (path / "placement.sqlite").symlink_to(database_path)
    return path
