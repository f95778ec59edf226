"""Jobs: the embedded-default generator, and the full refresh."""

import dagster as dg

from models_py import warehouse


class GenerateConfig(dg.Config):
    scale: str = "full"                 # "full" (real rosters) or "small" (tests)
    seed: int = 20240601
    out_dir: str = ""                   # default: the raw folder (RAW_DATA_DIR)
    truth_path: str = ""                # default: truth.json beside the raw folder
    s001_null: bool = False             # the S001 null variant: no pilot-zone effect planted


@dg.op(description="Write every raw source of the embedded default and its truth file.")
def write_embedded_default(context: dg.OpExecutionContext, config: GenerateConfig) -> None:
    from models_py.generate import generate  # heavy; only this job needs it

    out = config.out_dir or str(warehouse.raw_dir())
    truth = config.truth_path or str(warehouse.raw_dir().parent / "truth.json")
    result = generate(out, truth, config.scale, config.seed, s001_null=config.s001_null)
    variant = " (S001 null variant)" if config.s001_null else ""
    context.log.info(f"wrote the {config.scale} default{variant} to {out} in "
                     f"{result['seconds']} s")


@dg.job(description="Generate the embedded default raw files (the licensed data's stand-in).")
def generate_embedded_default():
    write_embedded_default()


refresh_all = dg.define_asset_job("refresh_all", selection=dg.AssetSelection.all(),
                                  description="Load every raw source, build the dbt project, "
                                              "and publish the analysts' copy.")
