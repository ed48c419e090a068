"""`deepcolor models`: the registered model families (parameters, FLOPs) and the shipped weights."""

from __future__ import annotations

import json
import sys

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--size",
    default=256,
    show_default=True,
    type=click.IntRange(16, 4096),
    help="Input side in pixels at which FLOPs are counted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(size: int, as_json: bool) -> None:
    """List the registered model families and shipped weights."""
    from deepcolor.models import count_flops, count_parameters, create_model, describe_model, list_models
    from deepcolor.models.autoencoder import ENCODERS
    from deepcolor.models.registry import model_task, variant_kwargs

    rows = []
    for name in list_models():
        # every family on every encoder (default kwargs otherwise); a variant as it is registered
        for encoder in ENCODERS if variant_kwargs(name) is None else (None,):
            model = create_model(name) if encoder is None else create_model(name, encoder=encoder)
            rows.append(
                {
                    "name": name,
                    "encoder": model.model_kwargs.get("encoder", encoder),
                    "task": model_task(name, model.model_kwargs),
                    "parameters": count_parameters(model),
                    "gflops": count_flops(model, size) / 1e9,
                    "inputs": ", ".join(["L", *(c.name for c in getattr(model, "conditions", ()))]),
                    "description": describe_model(name),
                }
            )
    shipped = _shipped()
    if as_json:
        click.echo(json.dumps({"size": size, "families": rows, "shipped": shipped}, indent=2))
        return
    header = f"{'model':<17} {'encoder':<19} {'task':<17} {'params':>8} {f'GFLOPs@{size}':>12}  inputs"
    click.echo(header)
    for r in rows:
        click.echo(
            f"{r['name']:<17} {r['encoder']:<19} {r['task']:<17} {r['parameters'] / 1e6:>7.2f}M "
            f"{r['gflops']:>12.2f}  {r['inputs']}"
        )
    click.echo("")
    for name in list_models():
        click.echo(f"{name}: {describe_model(name)}")
    click.echo("")
    click.echo("shipped weights: " + ", ".join(f"{s['name']} ({s['model_name']})" for s in shipped))


def _shipped() -> list[dict[str, str]]:
    try:
        from deepcolor.inference.weights import WEIGHTS_DIR, read_index, shipped_models
    except ImportError:
        return []
    out = []
    try:
        aliases = read_index()
    except ValueError as e:
        click.echo(f"deepcolor: {e}", err=True)
        aliases = {}
    for name in shipped_models():
        try:
            meta = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
        except (OSError, ValueError):
            print(f"deepcolor: {WEIGHTS_DIR / name}.json: unreadable metadata", file=sys.stderr)
            meta = {}
        tags = [a for a, target in aliases.items() if target == name]
        out.append(
            {
                "name": name + (f" [{', '.join(tags)}]" if tags else ""),
                "model_name": str(meta.get("model_name", "?")),
            }
        )
    return out
