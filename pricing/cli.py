"""`costroute pricing ...`: the price catalog, language identification, language premiums."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(help="Price catalog, token counts and language premiums.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def premium(
    data: Annotated[Path, typer.Option(
        help="Folder of <lang_Script>.devtest files, or a FLORES JSON-lines file.")],
    tokenizer: Annotated[str, typer.Option(
        help="Tokenizer name, or a catalog model name.")] = "o200k_base",
    out: Annotated[Path | None, typer.Option(help="Write `language,premium` CSV here.")] = None,
    top: Annotated[int, typer.Option(help="Print only the N highest premiums (0: all).")] = 0,
) -> None:
    """Per-language token premium vs English (mean over parallel sentences, scripts averaged)."""
    from pricing.catalog import PriceCatalog
    from pricing.premium import CorpusError, load_parallel, premium_table, write_csv
    from pricing.tokenizers import TokenizerRegistry

    registry = TokenizerRegistry()
    name = tokenizer
    if not registry.known(name):
        price = PriceCatalog.shipped().get(name)
        if price is None:
            _fail(f"unknown tokenizer or model {tokenizer!r} "
                  f"(tokenizers: {', '.join(sorted(registry.names()))})")
        name = price.tokenizer
    try:
        corpus = load_parallel(data)
        counter = registry.get(name)
        table = premium_table(counter.count, corpus)
    except (CorpusError, OSError) as exc:
        _fail(str(exc))
    flag = " (estimated counts)" if counter.estimated else ""
    typer.echo(f"# token premium vs eng, tokenizer {name}{flag}, "
               f"{len(next(iter(corpus.values())))} parallel sentences, {len(table)} languages")
    shown = list(table.items())[: top or None]
    for language, value in shown:
        typer.echo(f"{language}\t{value:.2f}")
    if out is not None:
        try:
            write_csv(out, table)
        except OSError as exc:
            _fail(f"cannot write {out}: {exc.strerror}")
        typer.echo(f"# wrote {out}")


@app.command()
def catalog(
    overrides: Annotated[Path | None, typer.Option(
        help="YAML mapping of model name to fields merged over the shipped catalog.")] = None,
) -> None:
    """List (and validate) the price catalog: USD per 1M tokens, context, tokenizer, date."""
    import yaml

    from pricing.catalog import CatalogError, PriceCatalog

    try:
        prices = PriceCatalog.shipped()
        if overrides is not None:
            raw = yaml.safe_load(overrides.read_text("utf-8")) or {}
            if not isinstance(raw, dict):
                _fail(f"{overrides}: expected a mapping of model name to fields")
            prices = prices.with_overrides(raw)
    except (CatalogError, OSError, yaml.YAMLError) as exc:
        _fail(str(exc).splitlines()[0])
    typer.echo("model\tinput\toutput\tcached\tper_request\tcontext\ttokenizer\tprice_date")
    for name in prices:
        p = prices[name]
        cached = "-" if p.cached_input_per_mtok is None else f"{p.cached_input_per_mtok:g}"
        typer.echo(f"{name}\t{p.input_per_mtok:g}\t{p.output_per_mtok:g}\t{cached}\t"
                   f"{p.per_request_usd:g}\t{p.context_window}\t{p.tokenizer}\t{p.price_date}")


@app.command()
def langid(
    text: Annotated[str, typer.Argument(help="Text to identify ('-' reads stdin).")],
) -> None:
    """Print the ISO 639-3 code of TEXT's language and the identifier's confidence."""
    import sys

    from pricing.langid import Py3LangidIdentifier

    if text == "-":
        text = sys.stdin.read()
    guess = Py3LangidIdentifier().identify(text)
    typer.echo(f"{guess.language}\t{guess.confidence:.3f}")
