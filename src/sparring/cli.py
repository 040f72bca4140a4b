"""Command line: each command parses its arguments and calls one library function.

sparring train --preset demo [--train.steps=4 ...]     self-play; prints where the run is
sparring eval --model RUN_DIR|ADAPTER|SPEC [--suite a,b | --suite all | --file prompts.jsonl]
sparring compare A B | --model A --model B --suite ...   metric differences B - A, paired by prompt
sparring crossplay RUN_DIR [--seeds 64] | RUN_DIR... --compare warmstart final   attacker vs defender
sparring judge FILE --judge wildguard --option base_url=URL  score exchanges (prompt, response) with a judge
sparring presets                                        list shipped presets
sparring config [--preset demo] [--fields]              print a resolved config, or every field
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Every default works offline: never let a library reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class UserError(Exception):
    """Raised for mistakes the user can fix; printed as one line, no traceback."""


def _quiet_libraries() -> None:
    import warnings

    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.config import load_config, parse_overrides
    from sparring.rl.loop import train
    from sparring.runs.report import render_report
    from sparring.runs.summary import print_summary

    overrides = parse_overrides(rest)
    if args.resume:
        if args.preset or args.config:
            raise UserError("--resume takes its config from the run directory; drop --preset/--config")
        if not (Path(args.resume) / "config.yaml").is_file():
            raise UserError(f"{args.resume}: not a run directory (no config.yaml)")
        cfg = load_config(
            path=Path(args.resume) / "config.yaml", overrides=overrides | {"run_dir": args.resume}
        )
    else:
        cfg = load_config(preset=args.preset, path=args.config, overrides=overrides)
    _quiet_libraries()
    name = args.preset or (Path(args.config).stem if args.config else "run")
    run = train(cfg, name=name, resume=bool(args.resume))
    print_summary(run)
    render_report(run.path)
    print(f"results: {run.path}")
    return 0


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.evals.benchmark import (
        category_table,
        list_suites,
        plan_file,
        plan_suites,
        results_table,
        suites_table,
    )
    from sparring.evals.suites import ALL_SUITES

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    console = _console()
    if args.list:
        console.print(suites_table(list_suites()))
        print(f"--suite all = {','.join(ALL_SUITES)}")
        print("advbench holds sparring's training seeds: not held out for a defender trained on them")
        return 0
    if args.show:
        from sparring.evals.benchmark import load_eval_dir

        result, out = load_eval_dir(args.show), Path(args.show)
        if not result.get("complete"):
            print(f"{out}: incomplete (running or stopped); the suites done so far", file=sys.stderr)
    elif not args.model:
        raise UserError("eval needs --model SPEC|RUN_DIR|ADAPTER (or --list to see the suites)")
    elif args.file:
        plans = [plan_file(args.file, args.limit, args.seed, args.prompt_field, args.label_field, args.label)]
        result, out = _evaluate(args, args.model, plans, args.out)
    else:
        plans = plan_suites(args.suite, limit=args.limit, seed=args.seed)
        result, out = _evaluate(args, args.model, plans, args.out)
    console.print(results_table(result))
    if args.by_category:
        for spec in result["suites"]:
            console.print(category_table(result, spec))
    _print_lm_eval(result)
    print(f"results: {out}")
    return 0


def _console():
    from rich.console import Console

    # Logs and pipes get rich's 80 columns by default, too narrow for these tables.
    return Console() if sys.stdout.isatty() else Console(width=160)


def _default_eval_dir(model: str) -> Path:
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    model_path = Path(model).expanduser()
    base = model_path / "evals" if (model_path / "run.json").is_file() else Path("evals")
    return base / stamp


def _evaluate(args: argparse.Namespace, model: str, plans: list, out_arg: str | None) -> tuple[dict, Path]:
    """Load the model and judge, evaluate ``plans`` into a fresh directory; returns (eval.json, directory)."""
    from sparring.evals.benchmark import run_benchmarks
    from sparring.evals.harness import LM_EVAL_MISSING, lm_eval_available
    from sparring.judges.registry import build_judge
    from sparring.judges.scoring import judge_options
    from sparring.models.policy import load_player
    from sparring.rl.loop import progress_bar

    kind, options = judge_options(args.judge, args.judge_options, args.judge_option)
    tasks = [t.strip() for t in (args.lm_eval or "").split(",") if t.strip()]
    if tasks and not lm_eval_available():
        raise UserError(LM_EVAL_MISSING)  # before an hour of generation, not after
    for plan in plans:
        if plan.training_seeds:
            print(
                f"warning: {plan.spec} holds sparring's shipped training seeds; for a defender trained on "
                "them this is a training-set number, not a held-out one",
                file=sys.stderr,
            )
    out = Path(out_arg) if out_arg else _default_eval_dir(model)
    if (out / "eval.json").exists():
        raise FileExistsError(f"{out} already holds an evaluation; pass another --out")
    _quiet_libraries()
    judge = build_judge(kind, **options)  # a wrong judge option fails before the model loads
    player = load_player(model, role=args.role, cache_dir=args.cache_dir, device=args.device, bf16=args.bf16)
    meta = {
        "model": model,
        "role": args.role,
        "judge": kind,
        "judge_options": options,
        "limit": args.limit,
        "seed": args.seed,
        "suite_arg": getattr(args, "file", None) or args.suite,  # compare has no --file
    }
    total = sum(len(p.prompts) for p in plans)
    with progress_bar() as progress:
        task = progress.add_task("eval", total=total)

        def on_suite(i: int, plan) -> None:
            progress.update(task, description=f"eval {plan.spec} ({min(i + 1, len(plans))}/{len(plans)})")

        result = run_benchmarks(
            player,
            judge,
            plans,
            out,
            meta=meta,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            capability=args.capability,
            on_suite=on_suite,
            on_batch=lambda n: progress.advance(task, n),
        )
    if tasks:
        from sparring.evals.harness import model_args, run_lm_eval
        from sparring.runs.rundir import write_json_atomic

        device = str(player.device)
        del player  # lm-eval loads its own copy of the weights
        result["lm_eval"] = run_lm_eval(
            model_args(model, args.role, args.cache_dir),
            tasks,
            limit=args.lm_eval_limit,
            device=device,
            include_path=args.lm_eval_include,
        )
        write_json_atomic(out / "eval.json", result)
    return result, out


def _print_lm_eval(result: dict) -> None:
    for task, metrics in result.get("lm_eval", {}).items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
        print(f"lm-eval {task}: {shown}")


def cmd_compare(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.evals.benchmark import plan_suites, results_table
    from sparring.evals.compare import compare_evals, comparison_table

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    every_dir = [*args.dirs, *(d for pair in args.pairs or [] for d in pair)]
    is_run = [(Path(d) / "config.yaml").is_file() for d in every_dir]
    if args.pairs:
        from sparring.evals.compare import compare_pairs

        if args.models or len(args.dirs) != 2:
            raise UserError("--pair A2 B2 repeats the comparison of A B: give the first pair A B as well")
        dirs = []
        result = compare_pairs(
            [tuple(args.dirs), *map(tuple, args.pairs)],
            which=args.stage,
            baseline=args.baseline,
            n_boot=args.n_boot,
        )
    elif args.models:
        if args.dirs or len(args.models) != 2:
            raise UserError("compare takes two evaluation directories, or --model A --model B (not both)")
        if args.out is None:
            from datetime import datetime

            args.out = str(Path("evals") / f"compare-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        plans = plan_suites(args.suite, limit=args.limit, seed=args.seed)
        dirs = []
        for side, model in zip("AB", args.models, strict=True):
            result, out = _evaluate(args, model, plans, str(Path(args.out) / side))
            _console().print(results_table(result))
            dirs.append(out)
    elif args.dirs and all(is_run) and len(args.dirs) <= 2:
        from sparring.evals.compare import compare_run

        # training runs: one run's stages (after - before), or two runs' final evaluations (B - A)
        other = args.dirs[1] if len(args.dirs) == 2 else None
        dirs = []
        result = compare_run(
            args.dirs[0], other, which=args.stage, baseline=args.baseline, n_boot=args.n_boot
        )
    elif len(args.dirs) == 2:
        dirs = [Path(d) for d in args.dirs]
    else:
        raise UserError("compare takes two evaluation directories A B, or --model A --model B")
    if dirs:
        result = compare_evals(dirs[0], dirs[1], n_boot=args.n_boot)
    _console().print(comparison_table(result, by_category=args.by_category))
    if args.out:
        from sparring.runs.rundir import write_json_atomic

        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(args.out) / "compare.json", result)
        print(f"results: {Path(args.out) / 'compare.json'}")
    return 0


def cmd_crossplay(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.evals.crossplay import crossplay, format_crossplay

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    for run_dir in args.run_dirs:
        if not (Path(run_dir) / "config.yaml").is_file():
            raise UserError(f"{run_dir}: not a run directory (no config.yaml)")
    if args.compare:
        playing_only = [
            flag
            for flag, given in (
                ("--seeds", args.seeds is not None),
                ("--judge", args.judge is not None),
                ("--no-base", args.no_base),
                ("--bf16", args.bf16),
            )
            if given
        ]
        if playing_only:
            raise UserError(
                "--compare reads the runs' saved cross-play and plays nothing; these options apply only "
                f"when playing (sparring crossplay RUN_DIR ...): {', '.join(playing_only)}"
            )
        from sparring.evals.crossplay_compare import compare_attackers, format_attacker_comparison

        try:
            result = compare_attackers(args.run_dirs, *args.compare, n_boot=args.n_boot)
        except (FileNotFoundError, ValueError) as e:
            raise UserError(str(e)) from None
        print(format_attacker_comparison(result))
        return 0
    if len(args.run_dirs) > 1:
        raise UserError("crossplay plays one run at a time; several runs go with --compare A B")
    run_dir = args.run_dirs[0]
    _quiet_libraries()
    from sparring.rl.loop import progress_bar

    with progress_bar() as progress:
        result = crossplay(
            run_dir,
            seeds=32 if args.seeds is None else args.seeds,
            judge=args.judge or "embedded",
            include_base=not args.no_base,
            device=args.device,
            bf16=args.bf16,
            log=progress.console.print,
            progress=progress,
        )
    print(format_crossplay(result))
    print(f"results: {Path(run_dir) / 'crossplay.json'}")
    return 0


def cmd_report(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.runs.report import render_report

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    if not (Path(args.run_dir) / "config.yaml").is_file():
        raise UserError(f"{args.run_dir}: not a run directory (no config.yaml)")
    print(f"report: {render_report(args.run_dir)}")
    return 0


def cmd_export(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.runs.export import export_episodes

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    if not (Path(args.run_dir) / "episodes.sqlite").is_file():
        raise UserError(f"{args.run_dir}: no episodes.sqlite (not a run directory, or it logged no step yet)")
    n = export_episodes(
        args.run_dir,
        args.out,
        args.format,
        attacks_only=args.attacks_only,
        successful_only=args.successful_only,
        category=args.category,
        min_step=args.min_step,
        max_step=args.max_step,
        order=args.order,
        limit=args.limit,
    )
    print(f"wrote {n} rows to {args.out}")
    return 0


def cmd_judge(args: argparse.Namespace, rest: list[str]) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sparring.judges.registry import build_judge
    from sparring.judges.scoring import (
        judge_options,
        judge_rows,
        load_exchange_file,
        print_verdicts,
        summarize,
        write_verdicts,
    )

    if rest:
        raise UserError(f"unexpected arguments: {' '.join(rest)}")
    kind, options = judge_options(args.judge, args.options, args.option)
    rows = load_exchange_file(args.file)[: args.limit]  # a malformed file fails before any model loads
    _quiet_libraries()
    judge = build_judge(kind, **options)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        task = progress.add_task(f"judge {kind}", total=len(rows))
        verdicts = judge_rows(judge, rows, args.batch_size, on_batch=lambda n: progress.advance(task, n))
    stats = getattr(judge, "stats", None)
    print_verdicts(rows, verdicts, summarize(verdicts, stats.as_dict() if stats else None), args.max_rows)
    if args.out:
        write_verdicts(args.out, rows, verdicts)
        print(f"results: {args.out}")
    return 0


def cmd_presets(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.config import preset_names

    print("\n".join(preset_names()))
    return 0


def cmd_config(args: argparse.Namespace, rest: list[str]) -> int:
    from sparring.config import field_help, load_config, parse_overrides

    if args.fields:
        for name, default, desc in field_help():
            print(f"--{name:32s} {default:24s} {desc}")
        return 0
    print(
        load_config(preset=args.preset, path=args.config, overrides=parse_overrides(rest)).to_yaml(), end=""
    )
    return 0


def _add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--role", default="defender", choices=["defender", "attacker"], help="adapter of a run to load"
    )
    p.add_argument("--suite", default="heldout", help="comma-separated suite specs, or all (see eval --list)")
    p.add_argument("--limit", type=int, help="at most this many prompts per suite (label shares kept)")
    p.add_argument("--judge", help="judge name (default embedded; see docs/judges.md)")
    p.add_argument(
        "--judge-option", action="append", default=[], metavar="KEY=VALUE", help="judge option, repeatable"
    )
    p.add_argument("--judge-options", metavar="YAML", help="judge options file (or a config's judge section)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="sampling seed for --limit")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--capability", type=int, metavar="N", help="also score N capability reference answers")
    p.add_argument("--lm-eval", metavar="TASKS", help="comma-separated lm-evaluation-harness tasks to run")
    p.add_argument("--lm-eval-limit", type=int, help="at most this many documents per lm-eval task")
    p.add_argument("--lm-eval-include", metavar="DIR", help="folder of extra lm-eval task YAMLs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparring", description="Online self-play safety training for LLMs."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train", help="run self-play; any config field can be overridden as --section.field=value"
    )
    p.add_argument("--preset", help="shipped preset (sparring presets lists them)")
    p.add_argument("--config", help="YAML config file (e.g. a run's config.yaml to repeat it)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a model on benchmark suites or on your own prompts")
    _add_eval_options(p)
    p.add_argument("--model", help="model spec, run directory or PEFT adapter directory")
    p.add_argument("--list", action="store_true", help="list the suites with their sizes and exit")
    p.add_argument("--show", metavar="EVAL_DIR", help="print the tables of a saved evaluation and exit")
    p.add_argument(
        "--file",
        help="your prompts instead of --suite: JSONL, CSV, or a directory holding a saved HF dataset",
    )
    p.add_argument("--prompt-field", default="prompt", help="--file: field holding the prompt")
    p.add_argument("--label-field", default="label", help="--file: field holding harmful/benign")
    p.add_argument("--label", help="--file: one label (harmful or benign) for every record")
    p.add_argument("--by-category", action="store_true", help="also print per-category tables")
    p.add_argument("--out", help="output directory (default RUN_DIR/evals/<time> or ./evals/<time>)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="B minus A for every metric, paired by prompt, with 95%% intervals")
    p.add_argument(
        "dirs", nargs="*", help="two evaluation directories A B (from sparring eval), or one or two run dirs"
    )
    p.add_argument("--stage", default="after", help="run dirs: the evaluation compared (after, warmup)")
    p.add_argument(
        "--baseline",
        default=None,
        help="run dirs: the stage of the first run subtracted (before, warmup, after; default: before "
        "for one run, --stage for two)",
    )
    p.add_argument(
        "--pair",
        dest="pairs",
        nargs=2,
        action="append",
        metavar=("A", "B"),
        help="another pair compared like A B (the same two methods, another training seed): two run dirs "
        "or two evaluation dirs; differences are averaged over all pairs, with intervals that include the "
        "spread between them",
    )
    p.add_argument("--model", dest="models", action="append", help="evaluate A and B first (give twice)")
    _add_eval_options(p)
    p.add_argument("--by-category", action="store_true", help="also compare per category")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--out", help="directory for compare.json (and, with --model, both evaluations)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("crossplay", help="every saved attacker against every saved defender of a run")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="a run; several only with --compare")
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="play nothing: read the runs' saved cross-play and give attacker B's success minus attacker "
        "A's (e.g. warmstart final) against each defender, paired by seed and pooled over the runs",
    )
    p.add_argument("--n-boot", type=int, default=2000, help="--compare: bootstrap resamples")
    p.add_argument("--seeds", type=int, help="seeds played by every pair (half harmful; default 32)")
    p.add_argument("--judge", help="judge of every exchange (default embedded)")
    p.add_argument("--no-base", action="store_true", help="leave the base model out of both roles")
    p.add_argument("--device", default="auto")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.set_defaults(func=cmd_crossplay)

    p = sub.add_parser("report", help="write RUN_DIR/report.html (self-contained, opens offline)")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write a run's episodes or attacks as JSONL, Parquet or a HF dataset")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True, help="output file (jsonl/parquet) or directory (hf)")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "parquet", "hf"])
    p.add_argument("--attacks-only", action="store_true", help="only (seed, label, attack, success, ...)")
    p.add_argument("--successful-only", action="store_true", help="only attacks that succeeded")
    p.add_argument("--category", help="only this seed category")
    p.add_argument("--min-step", type=int)
    p.add_argument("--max-step", type=int)
    p.add_argument("--order", default="step", choices=["step", "novelty"], help="novelty: most novel first")
    p.add_argument("--limit", type=int)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("judge", help="score a JSONL/CSV file of exchanges (prompt, response) with a judge")
    p.add_argument("file", help="JSONL or CSV with prompt and response columns")
    p.add_argument("--judge", help="judge name (default embedded; sparring judge --judge x lists them)")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="judge option, repeatable"
    )
    p.add_argument("--options", metavar="YAML", help="judge options file (or a config with a judge section)")
    p.add_argument("--out", help="write the rows with their verdicts to this JSONL file")
    p.add_argument("--limit", type=int, help="judge only the first N rows")
    p.add_argument("--batch-size", type=int, default=64, help="exchanges per judge call")
    p.add_argument("--max-rows", type=int, default=50, help="rows shown in the table")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("presets", help="list shipped presets")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("config", help="print the resolved config (or --fields for every field)")
    p.add_argument("--preset")
    p.add_argument("--config")
    p.add_argument("--fields", action="store_true")
    p.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sparring.config import ConfigError
    from sparring.models.resolve import ModelSpecError

    args, rest = build_parser().parse_known_args(argv)
    if os.environ.get("SPARRING_DEBUG"):
        return args.func(args, rest)  # full tracebacks while developing
    try:
        return args.func(args, rest)
    except (UserError, ConfigError, ModelSpecError, FileNotFoundError, FileExistsError) as e:
        print(f"sparring: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad data files and unknown names (suites, judges) raise ValueError with the fix
        print(f"sparring: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"sparring: error: missing dependency: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sparring: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
