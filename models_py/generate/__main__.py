"""Command line for the embedded default generator."""
from __future__ import annotations

import argparse
from pathlib import Path

from models_py.generate import generate


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m models_py.generate", description=__doc__)
    p.add_argument("--scale", choices=["small", "full"], default="small")
    p.add_argument("--out", type=Path, default=Path("data/raw"), help="raw landing folder")
    p.add_argument("--truth", type=Path, default=Path("data/truth.json"),
                   help="planted effects (outside the raw folder)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--s001-null", action="store_true",
                   help="the S001 null variant: no effect of the big data pilot zones planted")
    p.add_argument("--ceads-format", choices=["xlsx", "csv", "parquet"], default=None,
                   help="format of the CEADs tables (default: parquet at full scale, xlsx at "
                        "small; the real tables come as xlsx)")
    a = p.parse_args(argv)
    truth = generate(a.out, a.truth, a.scale, a.seed, s001_null=a.s001_null,
                     ceads_format=a.ceads_format)
    variant = " (S001 null variant)" if a.s001_null else ""
    print(f"wrote the {a.scale} default{variant} to {a.out} in {truth['seconds']} s; "
          f"truth in {a.truth}")


if __name__ == "__main__":
    main()
