"""Dedup benchmark: story clustering through the real pipeline, near-copies, story scores, speed.

1. **Story clustering, real pipeline.** Articles (``pressbot.models.Article``: one URL per item, one
   ``source_id`` per outlet and language, title = headline, summary = the lead, body = the rest) go
   into a fresh temporary ``Archive`` with ``upsert``; then ``cluster_all(StoryClusterer(archive,
   settings=DedupSettings(same_story=T)))`` and ``archive.stories(limit=100000)``. Pairwise
   precision / recall / F1 against the human truth, and #stories vs #true clusters, for a sweep of T.
   (a) NTREX: 70 English news documents with their human zh and it translations (210 articles,
   truth = doc_id; outlet = the document's outlet; times spread over 24 h, seeded). Also: documents
   whose three language versions share one story, and the cross-document merges at the default.
   (b) UCI News Aggregator, first 999 English headlines (truth = the STORY column; titles only;
   times spread by ID over one day, since the CSV timestamps are rounded).
2. **Near-copies.** (a) The 4 NYT World items whose title/description changed under the same GUID:
   exact Jaccard of shingles(title + description), and whether ``best_near_copy`` at ``near_copy``
   calls them near-copies. (b) Planted copies: real texts (NTREX English paragraphs, NTREX Chinese
   paragraphs, Italian pair texts), one copy each with small seeded edits (words/characters dropped
   or replaced, punctuation and case changed, full-width digits and ASCII punctuation for Chinese);
   originals indexed in ``NearCopyIndex`` at the default ``lsh_threshold`` and, for comparison, at
   0.8; copies queried, candidates verified with ``best_near_copy`` at ``near_copy``. Held-out texts
   of the same pools (not indexed) are queried too: any match there is a false positive.
3. **Italian thematic pairs** (2,492 valid human-coded pairs): cosine of the encoder vectors of
   ``story_text(first sentence, rest)``, and the pipeline's score (cosine + clue bonus, as
   ``StoryIndex.best`` computes it). ROC AUC for label 3 vs labels 0–1 (ranks, ties averaged), and
   precision / recall of "same story" (label 3 vs 0–2) at the sweep's thresholds.
4. **Speed.** Encoder throughput (batches of 256 titles + leads, after a warm-up batch) and
   ``StoryClusterer.process`` throughput (articles/s over ``cluster_all``, encoder warm).

Run: ``.venv/bin/python bench/bench_dedup.py [--quick]`` → tables + ``bench/results/dedup.json``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, fixtures_root, maxrss_mib, summary_ms, table, write_result

from pressbot.cluster import StoryClusterer, cluster_all, compared_text, match_text
from pressbot.dedup import (
    DedupSettings,
    Encoder,
    NearCopyIndex,
    StoryIndex,
    StoryMember,
    best_near_copy,
    clues,
    jaccard,
    minhash,
    profile,
    shingles,
    story_text,
)
from pressbot.leads import lead_text
from pressbot.models import Article
from pressbot.normalize import content_hash
from pressbot.store import Archive
from tests.reftranslator import ReferenceTranslator

BASE = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
NOW = BASE + timedelta(days=2)
DEFAULT = DedupSettings()
BASELINE_SAME_ITEM = 0.8  # a text-similarity dedup's "same item" cosine
THRESHOLDS = (0.16, 0.18, 0.20, 0.22, 0.24)
# NTREX documents that report one event (read by hand for this bench: same place, day and facts);
# "events" scores count these as one true cluster. Everything else stays one document = one event.
NTREX_EVENTS = {
    "sulawesi-quake-tsunami-2018": ("euronews-en.153797", "euronews-en.153835", "newsweek.51340",
                                    "reuters.218863", "nytimes.184837", "telegraph.405422"),
    "trump-wheeling-rally-2018": ("cnn.304447", "cnn.304489", "newsweek.51330", "newsweek.51310",
                                  "cnbc.com.6790"),
    "livingston-rangers-1-0": ("bbc.381746", "scotsman.133791"),
    "warren-hard-look-2020": ("abcnews.306755", "newsweek.51300"),
    "ryder-cup-paris-2018": ("euronews-en.153826", "reuters.218914"),  # the final day, and Saturday's play
}  # fmt: skip
EVENT_OF = {doc: event for event, docs in NTREX_EVENTS.items() for doc in docs}
SENTENCE_END_RE = re.compile(r"(?<=[.!?…»\"”])\s+")


def dedup_root() -> Path:
    return fixtures_root() / "dedup"


def mark(threshold: float) -> str:
    return f"{threshold:.2f}" + (" *" if abs(threshold - DEFAULT.same_story) < 1e-9 else "")


# ----------------------------------------------------------------------------- fixtures


def load_ntrex() -> list[dict[str, Any]]:
    path = dedup_root() / "derived" / "ntrex_trilingual_docs.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def ntrex_articles(docs: Sequence[dict[str, Any]]) -> tuple[list[Article], dict[str, str]]:
    """210 articles (3 per document); truth: url → doc_id. Times: seeded spread over 24 hours."""
    rng = random.Random(7)
    articles, truth = [], {}
    for doc in docs:
        for language in ("en", "zh", "it"):
            lines = [line.strip() for line in doc[language].split("\n") if line.strip()]
            url = f"https://{doc['outlet']}.bench.invalid/{language}/{doc['doc_id']}"
            title, summary, body = lines[0], " ".join(lines[1:3]), "\n".join(lines[3:])
            when = BASE + timedelta(seconds=rng.randrange(24 * 3600))
            articles.append(
                Article(
                    source_id=f"{doc['outlet']}-{language}",
                    url=url,
                    title=title,
                    language=language,
                    summary=summary,
                    body=body,
                    published_at=when,
                    fetched_at=when + timedelta(minutes=5),
                    content_hash=content_hash(title, summary, body),
                )
            )
            truth[url] = doc["doc_id"]
    return articles, truth


def uci_articles(limit: int) -> tuple[list[Article], dict[str, str]]:
    path = dedup_root() / "uci_news_aggregator_first999" / "uci-news-aggregator_first999.csv"
    articles, truth = [], {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in list(csv.DictReader(handle))[:limit]:
            ident = int(row["ID"])
            url = f"https://uci.bench.invalid/{ident}"
            when = BASE + timedelta(seconds=ident * 86)  # 999 IDs over one day
            publisher = re.sub(r"[^a-z0-9]+", "-", row["PUBLISHER"].lower()).strip("-") or "unknown"
            articles.append(
                Article(
                    source_id=publisher,
                    url=url,
                    title=row["TITLE"].strip(),
                    language="en",
                    published_at=when,
                    fetched_at=when + timedelta(minutes=5),
                    content_hash=content_hash(row["TITLE"], "", ""),
                )
            )
            truth[url] = row["STORY"]
    return articles, truth


def load_pairs(limit: int | None) -> list[dict[str, Any]]:
    path = dedup_root() / "italian_news_thematic_coherence" / "pairs.jsonl"
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    pairs = [p for p in pairs if p["label"] in (0, 1, 2, 3)]
    if limit is not None and limit < len(pairs):
        pairs = random.Random(3).sample(pairs, limit)
    return pairs


# ----------------------------------------------------------------------------- 1. clustering


def pairwise(predicted: dict[str, int], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision / recall / F1 of a clustering (item → cluster) against the truth."""
    items = sorted(truth)
    pred_groups: dict[int, list[str]] = defaultdict(list)
    for item in items:
        pred_groups[predicted[item]].append(item)
    true_groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        true_groups[truth[item]].append(item)
    pred_pairs = sum(len(g) * (len(g) - 1) // 2 for g in pred_groups.values())
    true_pairs = sum(len(g) * (len(g) - 1) // 2 for g in true_groups.values())
    both = Counter((predicted[i], truth[i]) for i in items)
    tp = sum(n * (n - 1) // 2 for n in both.values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # Adjusted Rand index (Hubert & Arabie) from the same pair counts: 0 = chance, 1 = the truth.
    all_pairs = len(items) * (len(items) - 1) // 2
    expected = pred_pairs * true_pairs / all_pairs if all_pairs else 0.0
    ceiling = (pred_pairs + true_pairs) / 2
    ari = (tp - expected) / (ceiling - expected) if ceiling != expected else 1.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "ari": round(ari, 4),
        "stories": len(pred_groups),
        "true_clusters": len(true_groups),
        "pred_pairs": pred_pairs,
        "true_pairs": true_pairs,
        "tp_pairs": tp,
    }


@dataclass
class ClusterRun:
    threshold: float
    story_of: dict[str, int]  # url → story id
    reasons: dict[str, str]  # url → link reason
    seconds: float
    upsert_s: float
    reports: int
    near_copies: int


WORD_RE = re.compile(r"\w+")
HAN_CHAR_RE = re.compile(r"[\u4e00-\u9fff]")


def purity(story_of: dict[str, int], truth: dict[str, str]) -> float:
    """Share of articles that belong to their story's majority true cluster."""
    members: dict[int, Counter[str]] = defaultdict(Counter)
    for url, story in story_of.items():
        members[story][truth[url]] += 1
    return round(sum(max(c.values()) for c in members.values()) / len(story_of), 4)


def tfidf_rows(texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
    """The plain baseline: TF-IDF (smoothed IDF over these texts), unit rows; words lower-cased,
    Chinese as character bigrams. No stemming, no stop-words, no boilerplate removal."""
    docs: list[Counter[str]] = []
    for text, language in zip(texts, languages, strict=True):
        folded = text.casefold()
        if language == "zh":
            han = "".join(HAN_CHAR_RE.findall(folded))
            terms = [han[i : i + 2] for i in range(len(han) - 1)] + [
                w for w in WORD_RE.findall(folded) if not HAN_CHAR_RE.search(w)
            ]
        else:
            terms = WORD_RE.findall(folded)
        docs.append(Counter(terms))
    vocabulary = {term: n for n, term in enumerate(sorted({t for d in docs for t in d}))}
    df = np.zeros(len(vocabulary))
    for d in docs:
        df[[vocabulary[t] for t in d]] += 1
    idf = np.log((1 + len(docs)) / (1 + df)) + 1
    matrix = np.zeros((len(docs), len(vocabulary)), dtype=np.float32)
    for row, d in enumerate(docs):
        columns = [vocabulary[t] for t in d]
        matrix[row, columns] = np.asarray(list(d.values())) * idf[columns]
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    return matrix


def greedy_baseline(
    articles: Sequence[Article], truth: dict[str, str], texts: Sequence[str], languages: Sequence[str]
) -> dict[str, Any]:
    """The baseline clusterer: the same single pass in time order as pressbot's (join the story of
    the most similar earlier article if the similarity passes the threshold), scored by plain TF-IDF
    cosine, at the threshold that is best for it in hindsight (a generous baseline)."""
    matrix = tfidf_rows(texts, languages)
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published_at or BASE, i))
    similarity = matrix @ matrix.T
    best: dict[str, Any] = {"f1": -1.0}
    for threshold in np.arange(0.05, 0.95, 0.025):
        story: dict[int, int] = {}
        seen: list[int] = []
        for i in order:
            if seen:
                j = max(seen, key=lambda k: similarity[i, k])
                story[i] = story[j] if similarity[i, j] >= threshold else i
            else:
                story[i] = i
            seen.append(i)
        scores = pairwise({articles[i].url: story[i] for i in story}, truth)
        if scores["f1"] > best["f1"]:
            best = {
                **scores,
                "threshold": round(float(threshold), 3),
                "story_of": {articles[i].url: story[i] for i in story},
            }
    return best


def run_pipeline(
    articles: Sequence[Article],
    settings: DedupSettings,
    encoder: Encoder,
    translator: ReferenceTranslator | None = None,
) -> ClusterRun:
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        archive = Archive.open(Path(tmp))
        try:
            started = time.perf_counter()
            archive.upsert(list(articles), now=NOW)
            upsert_s = time.perf_counter() - started
            clusterer = StoryClusterer(
                archive, settings=settings, encoder=lambda: encoder, translator=translator
            )
            started = time.perf_counter()
            reports = cluster_all(clusterer, now=NOW)
            seconds = time.perf_counter() - started
            story_of, reasons = {}, {}
            for story in archive.stories(limit=100000):
                for article in story.articles:
                    story_of[article.url] = story.id
                    reasons[article.url] = story.reasons.get(article.id or 0, "")
        finally:
            archive.close()
    missing = [a.url for a in articles if a.url not in story_of]
    if missing:
        raise SystemExit(f"{len(missing)} articles came back in no story, e.g. {missing[:3]}")
    return ClusterRun(
        settings.same_story,
        story_of,
        reasons,
        seconds,
        upsert_s,
        len(reports),
        sum(r.near_copies for r in reports),
    )


def ntrex_extras(run: ClusterRun, articles: Sequence[Article], truth: dict[str, str]) -> dict[str, Any]:
    by_doc: dict[str, set[int]] = defaultdict(set)
    docs_of_story: dict[int, set[str]] = defaultdict(set)
    for article in articles:
        by_doc[truth[article.url]].add(run.story_of[article.url])
        docs_of_story[run.story_of[article.url]].add(truth[article.url])
    together = [doc for doc, stories in by_doc.items() if len(stories) == 1]
    alone = [doc for doc in together if len(docs_of_story[next(iter(by_doc[doc]))]) == 1]
    merged = sorted({pair for docs in docs_of_story.values() for pair in combinations(sorted(docs), 2)})
    split = {
        doc: {a.language: [run.story_of[a.url], run.reasons[a.url]] for a in articles if truth[a.url] == doc}
        for doc, stories in by_doc.items()
        if len(stories) > 1
    }
    return {
        "docs": len(by_doc),
        "three_together": len(together),
        "three_together_alone": len(alone),
        "merged_doc_pairs": [list(pair) for pair in merged],
        "split_docs": split,
    }


def cross_merges(
    run: ClusterRun, articles: Sequence[Article], truth: dict[str, str], docs: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Stories holding more than one NTREX document, with headlines and the links' reasons."""
    members: dict[int, list[Article]] = defaultdict(list)
    for article in articles:
        members[run.story_of[article.url]].append(article)
    merges = []
    for story_id, group in members.items():
        doc_ids = sorted({truth[a.url] for a in group})
        if len(doc_ids) < 2:
            continue
        merges.append(
            {
                "story": story_id,
                "docs": [
                    {
                        "doc_id": d,
                        "outlet": docs[d]["outlet"],
                        "headline": docs[d]["en"].split("\n")[0],
                        "languages": sorted(a.language for a in group if truth[a.url] == d),
                    }
                    for d in doc_ids
                ],
                "reasons": [f"{a.language} {truth[a.url]}: {run.reasons[a.url]}" for a in group],
            }
        )
    return merges


def clustering_section(
    encoder: Encoder, *, quick: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]:
    docs = load_ntrex()
    if quick:
        docs = docs[:25]
    ntrex, ntrex_truth = ntrex_articles(docs)
    uci, uci_truth = uci_articles(300 if quick else 999)
    docs_by_id = {d["doc_id"]: d for d in docs}
    sweep = (
        (DEFAULT.same_story - 0.04, DEFAULT.same_story, DEFAULT.same_story + 0.04) if quick else THRESHOLDS
    )
    reference = ReferenceTranslator(fixtures_root() / "mt" / "ntrex128_news_en_zh_it")
    plans: list[tuple[str, Sequence[Article], dict[str, str], str, float, ReferenceTranslator | None]] = []
    for name, items, truth in (("ntrex", ntrex, ntrex_truth), ("uci", uci, uci_truth)):
        plans += [
            (name, items, truth, "same_story", t, reference if name == "ntrex" else None) for t in sweep
        ]
    # Without any translation model the encoder alone compares languages (cross_language applies).
    plans.append(("ntrex", ntrex, ntrex_truth, "no pivot: cross_language", DEFAULT.cross_language, None))
    results: dict[str, Any] = {"ntrex": [], "uci": [], "baselines": {}}
    rows: list[Any] = []
    merges: list[dict[str, Any]] = []
    speed: dict[str, list[float]] = defaultdict(list)
    previous = None
    for name, articles, truth, knob, threshold, translator in plans:
        field_name = "cross_language" if knob.startswith("no pivot") else knob
        settings = replace(DEFAULT, **{field_name: round(threshold, 2)})  # type: ignore[arg-type]
        is_default = settings == DEFAULT and translator is not None or (name == "uci" and settings == DEFAULT)
        run = run_pipeline(articles, settings, encoder, translator)
        scores = pairwise(run.story_of, truth)
        entry: dict[str, Any] = {
            "swept": knob,
            "same_story": settings.same_story,
            "cross_language": getattr(settings, "cross_language", None),
            "default": is_default,
            **scores,
        }
        entry |= {
            "articles": len(articles),
            "cluster_s": round(run.seconds, 3),
            "articles_per_s": round(len(articles) / run.seconds, 1),
            "near_copy_links": run.near_copies,
        }
        speed[name].append(entry["articles_per_s"])
        extra, events = "", ""
        if name == "ntrex":
            event_truth = {u: EVENT_OF.get(d, d) for u, d in truth.items()}
            event_scores = pairwise(run.story_of, event_truth) | {"purity": purity(run.story_of, event_truth)}
            entry["vs_events"] = event_scores
            events = f"{event_scores['purity']:.3f} / {event_scores['precision']:.3f} / {event_scores['recall']:.3f}"
            entry |= ntrex_extras(run, articles, truth)
            extra = f"{entry['three_together']}/{entry['docs']} ({entry['three_together_alone']} alone)"
            if is_default and not merges:
                merges = cross_merges(run, articles, truth, docs_by_id)
        results[name].append(entry)
        if previous is not None and previous != (name, knob):
            rows.append(None)
        previous = (name, knob)
        value = getattr(settings, field_name)
        entry["purity"] = purity(run.story_of, truth)
        rows.append(
            (
                f"{name} ({len(articles)})",
                f"{knob} {value:.2f}" + (" *" if is_default else ""),
                "reference (NTREX)" if translator else "none",
                f"{entry['purity']:.3f}",
                f"{scores['stories']} / {scores['true_clusters']}",
                f"{scores['precision']:.3f}",
                f"{scores['recall']:.3f}",
                f"{scores['f1']:.3f}",
                f"{scores['ari']:.3f}",
                events,
                extra,
                run.near_copies,
                f"{entry['articles_per_s']:.0f}",
            )
        )
    rows.append(None)
    for name, articles, truth in (("ntrex", ntrex, ntrex_truth), ("uci", uci, uci_truth)):
        variants = [
            (
                "original text",
                [compared_text(a.title, lead_text(a)) for a in articles],
                [a.language for a in articles],
            )
        ]
        if name == "ntrex":
            english = [
                compared_text(*(reference.translate([a.title, lead_text(a)], source=a.language, target="en")))
                if a.language != "en"
                else compared_text(a.title, lead_text(a))
                for a in articles
            ]
            variants.append(("English pivot (reference)", english, ["en"] * len(articles)))
        for label, texts, languages in variants:
            base = greedy_baseline(articles, truth, texts, languages)
            story_of = base.pop("story_of")
            base["purity"] = purity(story_of, truth)
            extra = events = ""
            if name == "ntrex":
                event_truth = {u: EVENT_OF.get(d, d) for u, d in truth.items()}
                event_scores = pairwise(story_of, event_truth) | {"purity": purity(story_of, event_truth)}
                base["vs_events"] = event_scores
                events = f"{event_scores['purity']:.3f} / {event_scores['precision']:.3f} / {event_scores['recall']:.3f}"
                stories_of_doc: dict[str, set[int]] = defaultdict(set)
                for url, doc in truth.items():
                    stories_of_doc[doc].add(story_of[url])
                base["three_together"] = sum(len(v) == 1 for v in stories_of_doc.values())
                extra = f"{base['three_together']}/{len(stories_of_doc)}"
            results["baselines"][f"{name}: {label}"] = base
            rows.append(
                (
                    f"{name} ({len(articles)})",
                    f"TF-IDF baseline, best threshold {base['threshold']:.3f}",
                    label,
                    f"{base['purity']:.3f}",
                    f"{base['stories']} / {base['true_clusters']}",
                    f"{base['precision']:.3f}",
                    f"{base['recall']:.3f}",
                    f"{base['f1']:.3f}",
                    f"{base['ari']:.3f}",
                    events,
                    extra,
                    "",
                    "",
                )
            )
    table(
        "1. Story clustering through StoryClusterer.process (pairwise, against human clusters)",
        (
            "dataset (articles)",
            "swept",
            "English pivot",
            "purity (vs docs)",
            "stories / true",
            "precision",
            "recall",
            "F1",
            "ARI",
            "NTREX vs events: purity / P / R",
            "NTREX docs: 3 langs in 1 story",
            "near-copy links",
            "articles/s",
        ),
        rows,
        caption="* = the defaults (DedupSettings()). 'alone' = that story holds no other document. "
        f"'vs events': truth = doc_id, except {sum(map(len, NTREX_EVENTS.values()))} documents grouped into "
        f"{len(NTREX_EVENTS)} events reported by several outlets (NTREX_EVENTS). "
        "articles/s = StoryClusterer.process over the whole set (encoder warm; the machine is shared, timings vary).",
    )
    merge_rows: list[Any] = []
    for merge in merges:
        for i, doc in enumerate(merge["docs"]):
            merge_rows.append(
                (
                    merge["story"] if i == 0 else "",
                    doc["doc_id"],
                    doc["outlet"],
                    ",".join(doc["languages"]),
                    doc["headline"][:90],
                )
            )
        merge_rows.append(None)
    table(
        "1a. NTREX cross-document merges at the defaults",
        ("story", "doc_id", "outlet", "langs", "English headline"),
        merge_rows[:-1] or [("—", "none", "", "", "")],
    )
    default_run = next((e for e in results["ntrex"] if e["default"]), None)
    if default_run is not None:
        at_default = {tuple(pair) for pair in default_run["merged_doc_pairs"]}
        new_pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
        for e in results["ntrex"]:
            for pair in {tuple(p) for p in e["merged_doc_pairs"]} - at_default:
                new_pairs[pair].append(f"{e['same_story']:.2f}/{e['cross_language']}")
        head = {d: docs_by_id[d]["en"].split("\n")[0][:70] for d in docs_by_id}
        table(
            "1b. NTREX document pairs merged at other settings (same_story/cross_language) but not at the defaults",
            ("doc A", "doc B", "settings", "headline A", "headline B"),
            [
                (a, b, " ".join(v), head[a], head[b])
                for (a, b), v in sorted(new_pairs.items(), key=lambda kv: -len(kv[1]))
            ]
            or [("—", "none", "", "", "")],
        )
        table(
            "1c. NTREX documents whose 3 language versions are not in one story at the defaults",
            ("doc_id", "language", "story", "reason", "headline"),
            [
                (doc if i == 0 else "", lang, story, reason[:80], docs_by_id[doc][lang].split("\n")[0][:60])
                for doc, langs in default_run["split_docs"].items()
                for i, (lang, (story, reason)) in enumerate(sorted(langs.items()))
            ]
            or [("—", "none", "", "", "")],
        )
    process_speed = {
        f"{name}_process_articles_per_s_median": statistics.median(v) for name, v in speed.items()
    }
    process_speed |= {f"{name}_process_articles_per_s_best": max(v) for name, v in speed.items()}
    return results, merges, process_speed


# ----------------------------------------------------------------------------- 2. near-copies


def nyt_section() -> dict[str, Any]:
    path = dedup_root() / "derived" / "nyt_world_same_guid_changed_pairs.jsonl"
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    rows, out = [], []
    for pair in pairs:
        a = f"{pair['before']['title']}\n{pair['before']['description']}"
        b = f"{pair['after']['title']}\n{pair['after']['description']}"
        first, second = shingles(a, "en"), shingles(b, "en")
        score = jaccard(first, second)
        copy = best_near_copy(first, {1: second}, threshold=DEFAULT.near_copy) is not None
        # what StoryClusterer compares: cluster.match_text of the Article (it may leave the headline out)
        pipeline = [
            shingles(
                match_text(
                    Article(
                        source_id="nyt",
                        url=pair["guid"],
                        title=side["title"],
                        language="en",
                        summary=side["description"],
                    )
                ),
                "en",
            )
            for side in (pair["before"], pair["after"])
        ]
        pipeline_score = jaccard(*pipeline)
        out.append(
            {
                "guid": pair["guid"],
                "jaccard": round(score, 4),
                "near_copy": copy,
                "pipeline_match_text_jaccard": round(pipeline_score, 4),
                "before": pair["before"]["title"],
                "after": pair["after"]["title"],
            }
        )
        rows.append(
            (
                f"{score:.3f}",
                "yes" if copy else "no",
                f"{pipeline_score:.3f}" + (" yes" if pipeline_score >= DEFAULT.near_copy else " no"),
                pair["before"]["title"][:64],
                pair["after"]["title"][:64],
            )
        )
    # Layer 1, as the archive applies it: the edited item (same GUID) updates the stored one.
    outcomes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-nyt-") as tmp, Archive.open(Path(tmp)) as archive:
        for pair in pairs:
            before, after = (
                Article(
                    source_id="nyt",
                    url=pair["guid"],
                    guid=pair["guid"],
                    title=side["title"],
                    language="en",
                    summary=side["description"],
                    fetched_at=NOW + timedelta(hours=hours),
                    content_hash=content_hash(side["title"], side["description"], ""),
                )
                for side, hours in ((pair["before"], 0), (pair["after"], 1))
            )
            [(first_outcome, first_id)] = archive.upsert([before], now=NOW)
            [(second_outcome, second_id)] = archive.upsert([after], now=NOW + timedelta(hours=1))
            outcomes[
                f"{first_outcome} → {second_outcome}" + ("" if first_id == second_id else " (new id)")
            ] += 1
        stored = archive.count()
    updates = outcomes.get("new → updated", 0)
    # Baselines for the same question ("is the second an update of the first?"): a feed reader's
    # content hash, and a text-similarity dedup (plain TF-IDF cosine of title + description ≥ 0.8).
    texts = [
        f"{side['title']}\n{side['description']}"
        for pair in pairs
        for side in (pair["before"], pair["after"])
    ]
    matrix = tfidf_rows(texts, ["en"] * len(texts))
    cosines = [float(matrix[2 * i] @ matrix[2 * i + 1]) for i in range(len(pairs))]
    hash_same = sum(
        content_hash(p["before"]["title"], p["before"]["description"], "")
        == content_hash(p["after"]["title"], p["after"]["description"], "")
        for p in pairs
    )
    tfidf_same = sum(c >= BASELINE_SAME_ITEM for c in cosines)
    scores = [o["jaccard"] for o in out]
    found = sum(o["near_copy"] for o in out)
    table(
        f"2a. NYT same-GUID edited items: near-copies at near_copy={DEFAULT.near_copy} → {found}/{len(out)}",
        ("Jaccard title+desc.", "near-copy", "Jaccard of cluster.match_text", "title before", "title after"),
        rows,
        caption=f"Jaccard min {min(scores):.3f} / median {statistics.median(scores):.3f} / max {max(scores):.3f}",
    )
    table(
        f"2. NYT same-GUID edited items through Archive.upsert: recognised as updates {updates}/{len(pairs)}",
        ("outcome (first → second upsert)", "pairs"),
        [
            *sorted(outcomes.items()),
            ("articles stored", stored),
            ("baseline: same content hash", f"{hash_same}/{len(pairs)}"),
            (
                f"baseline: TF-IDF cosine ≥ {BASELINE_SAME_ITEM}",
                f"{tfidf_same}/{len(pairs)} (cosines {', '.join(f'{c:.2f}' for c in cosines)})",
            ),
        ],
        caption="Layer 1 (same URL / GUID) recognises an edit whatever its wording; the near-copy "
        "test below shows why text similarity alone could not.",
    )
    return {
        "pairs": out,
        "updates_recognised": updates,
        "baseline_content_hash": hash_same,
        "baseline_tfidf_cosine": {
            "threshold": BASELINE_SAME_ITEM,
            "recognised": tfidf_same,
            "cosines": cosines,
        },
        "archive_outcomes": dict(outcomes),
        "articles_stored": stored,
        "near_copies": found,
        "total": len(out),
        "jaccard_min": min(scores),
        "jaccard_median": statistics.median(scores),
        "jaccard_max": max(scores),
    }


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ZH_PUNCT = str.maketrans({"，": ",", "。": ".", "：": ":", "“": '"', "”": '"', "（": "(", "）": ")"})


def edit_words(text: str, rng: random.Random, vocabulary: Sequence[str]) -> str:
    """Small edits to a word-language text: ~1 word dropped or replaced per 40 words (at least 1),
    punctuation changed, sometimes a case change — what an outlet's re-edit or a syndication does."""
    words = text.split()
    edits = max(1, len(words) // 40)
    for _ in range(edits):
        if len(words) < 4:
            break
        i = rng.randrange(len(words))
        if rng.random() < 0.5:
            del words[i]
        else:
            words[i] = rng.choice(vocabulary)
    copy = " ".join(words)
    copy = copy.replace(",", ";").replace("«", '"').replace("»", '"').replace("’", "'")
    if rng.random() < 0.3:
        copy = copy.upper() if rng.random() < 0.2 else copy.lower()
    return copy


def edit_chars(text: str, rng: random.Random, alphabet: str) -> str:
    """Small edits to a Chinese text: ~1 character dropped or replaced per 60 (at least 1),
    ASCII digits → full-width, full-width punctuation → ASCII."""
    chars = list(text)
    edits = max(1, len(chars) // 60)
    for _ in range(edits):
        i = rng.randrange(len(chars))
        if rng.random() < 0.5:
            del chars[i]
        else:
            chars[i] = rng.choice(alphabet)
    return "".join(chars).translate(FULLWIDTH).translate(ZH_PUNCT)


def planted_texts(per_language: int) -> dict[str, list[str]]:
    """Real texts per language: NTREX English and Chinese paragraphs (3 sentences), Italian pair texts."""
    docs = load_ntrex()
    out: dict[str, list[str]] = {"en": [], "zh": [], "it": []}
    for language in ("en", "zh"):
        for doc in docs:
            lines = [line.strip() for line in doc[language].split("\n") if line.strip()]
            out[language] += [" ".join(lines[i : i + 3]) for i in range(0, len(lines) - 2, 3)]
    seen: set[str] = set()
    for pair in load_pairs(None):
        for text in (pair["text1"], pair["text2"]):
            if text not in seen and len(text.split()) >= 20:
                seen.add(text)
                out["it"].append(text)
    rng = random.Random(11)
    for language in out:
        unique = sorted(set(out[language]))
        rng.shuffle(unique)
        out[language] = unique[: per_language * 2]  # first half indexed, second half held out
    return out


def planted_section(*, quick: bool) -> dict[str, Any]:
    per_language = 60 if quick else 170
    pools = planted_texts(per_language)
    rng = random.Random(5)
    originals: list[tuple[int, str, str]] = []  # (id, language, text)
    copies: list[tuple[int, str, str]] = []  # (original id, language, edited text)
    held_out: list[tuple[str, str]] = []
    next_id = 1
    for language, texts in pools.items():
        indexed, rest = texts[:per_language], texts[per_language:]
        vocabulary = [w for t in indexed for w in t.split()][:5000]
        alphabet = "".join(sorted({c for t in indexed for c in t if "\u4e00" <= c <= "\u9fff"}))
        for text in indexed:
            originals.append((next_id, language, text))
            copy = edit_chars(text, rng, alphabet) if language == "zh" else edit_words(text, rng, vocabulary)
            copies.append((next_id, language, copy))
            next_id += 1
        held_out += [(language, text) for text in rest]
    own = {ident: shingles(text, language) for ident, language, text in originals}
    true_j = {ident: jaccard(own[ident], shingles(copy, language)) for ident, language, copy in copies}
    results: dict[str, Any] = {"planted": len(copies), "held_out": len(held_out), "by_lsh": {}}
    above = [ident for ident, score in true_j.items() if score >= DEFAULT.near_copy]
    buckets = ((0.0, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.01))
    rows: list[Any] = []
    for lsh_threshold in sorted({DEFAULT.lsh_threshold, 0.8}):
        index = NearCopyIndex(DedupSettings(lsh_threshold=lsh_threshold))
        for ident, language, _text in originals:
            index.add(ident, language, minhash(own[ident]))

        def query(text: str, language: str, index: NearCopyIndex = index) -> tuple[int | None, int, float]:
            started = time.perf_counter()
            mine = shingles(text, language)
            candidates = index.candidates(language, minhash(mine))
            hit = best_near_copy(mine, {c: own[c] for c in candidates}, threshold=DEFAULT.near_copy)
            return (hit[0] if hit else None), len(candidates), time.perf_counter() - started

        found, wrong, timings, candidate_counts = set(), 0, [], []
        by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for ident, language, copy in copies:
            hit, count, seconds = query(copy, language)
            timings.append(seconds)
            candidate_counts.append(count)
            by_language[language][1] += 1
            if hit == ident:
                found.add(ident)
                by_language[language][0] += 1
            elif hit is not None:
                wrong += 1
        negatives = sum(query(text, language)[0] is not None for language, text in held_out)
        by_bucket = {}
        for low, high in buckets:
            members = [i for i, s in true_j.items() if low <= s < high]
            by_bucket[f"{low:.2f}-{min(high, 1.0):.2f}"] = [len(found & set(members)), len(members)]
        timing = summary_ms(timings)
        results["by_lsh"][str(lsh_threshold)] = {
            "found": len(found),
            "found_of_true_jaccard_ge_near_copy": len(found & set(above)),
            "true_jaccard_ge_near_copy": len(above),
            "wrong_original": wrong,
            "held_out_matched": negatives,
            "per_language": dict(by_language),
            "by_true_jaccard": by_bucket,
            "candidates_mean": round(statistics.fmean(candidate_counts), 2),
            "query": timing,
        }
        rows.append(
            (
                f"{lsh_threshold:.2f}" + (" *" if lsh_threshold == DEFAULT.lsh_threshold else ""),
                f"{len(found)}/{len(copies)}",
                f"{len(found & set(above))}/{len(above)}",
                " ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_language.items())),
                " ".join(f"{v[0]}/{v[1]}" for v in by_bucket.values()),
                wrong,
                f"{negatives}/{len(held_out)}",
                f"{statistics.fmean(candidate_counts):.2f}",
                f"{timing['p50_ms']:.2f} / {timing['p95_ms']:.2f}",
            )
        )
    scores = sorted(true_j.values())
    results["true_jaccard"] = {
        "min": round(scores[0], 4),
        "p10": round(float(np.percentile(scores, 10)), 4),
        "median": round(statistics.median(scores), 4),
        "p90": round(float(np.percentile(scores, 90)), 4),
        "max": round(scores[-1], 4),
    }
    table(
        f"2b. Planted near-copies ({len(copies)} real texts, one edited copy each; verified at near_copy={DEFAULT.near_copy})",
        (
            "lsh_threshold",
            "found / planted",
            "found / true J≥0.8",
            "per language",
            "by true J: <.80 .80-.85 .85-.90 .90-.95 ≥.95",
            "wrong original",
            "held-out matched",
            "candidates/query",
            "query p50 / p95 ms",
        ),
        rows,
        caption=(
            "* = DedupSettings().lsh_threshold. True Jaccard of the planted pairs: "
            + ", ".join(f"{k} {v:.3f}" for k, v in results["true_jaccard"].items())
            + f"; {len(above)} of {len(copies)} are ≥ {DEFAULT.near_copy}. Held-out = texts of the same pools, not indexed."
        ),
    )
    return results


# ----------------------------------------------------------------------------- 3. Italian pairs


def split_first_sentence(text: str) -> tuple[str, str]:
    parts = SENTENCE_END_RE.split(text.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (text.strip(), "")


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """ROC AUC by the rank-sum (Mann–Whitney) formula, ties given their average rank."""
    values = np.concatenate([np.asarray(positives, float), np.asarray(negatives, float)])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # average ranks of ties
        same = values == value
        if same.sum() > 1:
            ranks[same] = ranks[same].mean()
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_f1(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float, float, float]:
    """(F1, threshold, precision, recall) at the threshold that maximises F1: the baseline's best case."""
    best = (0.0, 0.0, 0.0, 0.0)
    for threshold in np.unique(scores):
        said = scores >= threshold
        tp = int(np.sum(said & positive))
        precision, recall = tp / int(said.sum()), tp / int(positive.sum())
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best[0]:
            best = (f1, float(threshold), precision, recall)
    return best


def decision(scores: np.ndarray, positive: np.ndarray, threshold: float) -> dict[str, float]:
    said = scores >= threshold
    tp = int(np.sum(said & positive))
    precision = tp / int(said.sum()) if said.sum() else 1.0
    recall = tp / int(positive.sum())
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def italian_section(encoder: Encoder, *, quick: bool) -> dict[str, Any]:
    """pressbot's same-story score (StoryIndex.score, exactly as the clusterer computes it, with the
    window's statistics taken from all the pairs' texts) against a plain TF-IDF cosine."""
    pairs = [p for p in load_pairs(600 if quick else None) if p["label"] != 2]
    texts = sorted({p["text1"] for p in pairs} | {p["text2"] for p in pairs})
    split = {text: split_first_sentence(text) for text in texts}
    started = time.perf_counter()
    vectors = encoder.encode([story_text(*split[t]) for t in texts])
    encode_s = time.perf_counter() - started
    index = StoryIndex(DEFAULT)
    members = {}
    for number, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        member = StoryMember(
            number,
            number,
            BASE,
            vector,
            "it",
            frozenset(clues(text)),
            {"it": profile(compared_text(*split[text]), "it")},
        )
        index.add(member)
        members[text] = member
    scores, cosines, lexicals = [], [], []
    for p in pairs:
        first, second = members[p["text1"]], members[p["text2"]]
        cosine = float(first.vector @ second.vector)
        score, lexical, _ = index.score(
            second, cosine=cosine, language="it", weights=index.query_weights(first.texts), facts=first.clues
        )
        scores.append(score)
        cosines.append(cosine)
        lexicals.append(lexical or 0.0)
    baseline_vectors = tfidf_rows([compared_text(*split[t]) for t in texts], ["it"] * len(texts))
    row_of = {t: n for n, t in enumerate(texts)}
    tfidf = np.asarray(
        [float(baseline_vectors[row_of[p["text1"]]] @ baseline_vectors[row_of[p["text2"]]]) for p in pairs]
    )
    positive = np.asarray([p["label"] == 3 for p in pairs])
    values = {
        "pressbot score": np.asarray(scores),
        "encoder cosine alone": np.asarray(cosines),
        "pressbot words alone (TF-IDF, boilerplate out)": np.asarray(lexicals),
        "baseline: plain TF-IDF cosine": tfidf,
    }
    out: dict[str, Any] = {
        "pairs": len(pairs),
        "same_story_pairs": int(positive.sum()),
        "encode_texts_per_s": round(len(texts) / encode_s, 1),
        "default": decision(values["pressbot score"], positive, DEFAULT.same_story),
        "sweep": [decision(values["pressbot score"], positive, t) for t in THRESHOLDS],
        "best": {},
    }
    rows: list[Any] = []
    d = out["default"]
    rows.append(
        (
            "pressbot score, at the default same_story",
            f"{DEFAULT.same_story:.2f} *",
            d["precision"],
            d["recall"],
            f"{d['f1']:.3f}",
            f"{auc(np.asarray(scores)[positive], np.asarray(scores)[~positive]):.3f}",
        )
    )
    for name, value in values.items():
        f1, threshold, precision, recall = best_f1(value, positive)
        out["best"][name] = {
            "f1": round(f1, 4),
            "threshold": round(threshold, 4),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "auc": round(auc(value[positive], value[~positive]), 4),
        }
        rows.append(
            (
                f"{name}, at its best threshold",
                f"{threshold:.3f}",
                f"{precision:.3f}",
                f"{recall:.3f}",
                f"{f1:.3f}",
                f"{out['best'][name]['auc']:.3f}",
            )
        )
    table(
        f"3. Italian thematic pairs: same story (label 3: {int(positive.sum())}) vs different (labels 0–1: {int((~positive).sum())})",
        ("score", "threshold", "precision", "recall", "F1", "AUC"),
        rows,
        caption="Target: F1 ≥ 0.85 at the default threshold, above the TF-IDF baseline at its best threshold.",
    )
    return out


# ----------------------------------------------------------------------------- 4. speed


def encoder_speed(encoder: Encoder, *, quick: bool) -> dict[str, Any]:
    docs = load_ntrex()
    texts = []
    for doc in docs:
        for language in ("en", "zh", "it"):
            lines = [line.strip() for line in doc[language].split("\n") if line.strip()]
            texts.append(story_text(lines[0], " ".join(lines[1:3])))
    batch = (texts * (256 // len(texts) + 1))[:256]
    timings = []
    for _ in range(2 if quick else 5):
        started = time.perf_counter()
        encoder.encode(batch)
        timings.append(time.perf_counter() - started)
    best, median = min(timings), statistics.median(timings)
    return {
        "batch": 256,
        "runs": len(timings),
        "median_s": round(median, 3),
        "texts_per_s_median": round(256 / median, 1),
        "texts_per_s_best": round(256 / best, 1),
    }


def timed(label: str, action: Callable[[], Any], clock: dict[str, float]) -> Any:
    started = time.perf_counter()
    result = action()
    clock[label] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller subsets, ~1 minute")
    args = parser.parse_args()
    clock: dict[str, float] = {}
    encoder = Encoder()
    warm = timed("encoder_load", lambda: encoder.encode(["warm-up", "riscaldamento", "预热"]), clock)
    del warm
    clustering, merges, process_speed = timed(
        "clustering", lambda: clustering_section(encoder, quick=args.quick), clock
    )
    nyt = timed("nyt", nyt_section, clock)
    planted = timed("planted", lambda: planted_section(quick=args.quick), clock)
    italian = timed("italian", lambda: italian_section(encoder, quick=args.quick), clock)
    enc = timed("encoder_speed", lambda: encoder_speed(encoder, quick=args.quick), clock)
    table(
        "4. Speed (2-core machine; encoder warm)",
        ("what", "value"),
        [
            (
                "encoder, batch of 256 titles + leads (NTREX zh/it/en)",
                f"{enc['texts_per_s_median']:.0f} texts/s median, "
                f"{enc['texts_per_s_best']:.0f} best ({enc['runs']} batches)",
            ),
            ("encoder, Italian pairs (one call, all texts)", f"{italian['encode_texts_per_s']:.0f} texts/s"),
            *(
                (
                    f"StoryClusterer.process, {name.upper()} (median / best of the sweep's runs)",
                    f"{process_speed[name + '_process_articles_per_s_median']:.0f} / "
                    f"{process_speed[name + '_process_articles_per_s_best']:.0f} articles/s",
                )
                for name in ("ntrex", "uci")
            ),
            ("sections (s)", ", ".join(f"{k} {v}" for k, v in clock.items())),
            ("peak RSS", f"{maxrss_mib():.0f} MiB"),
        ],
    )
    write_result(
        "dedup",
        {
            "quick": args.quick,
            "code_sha256": {  # pressbot's dedup code changes often: which version these numbers are for
                name: hashlib.sha256((REPO / "pressbot" / name).read_bytes()).hexdigest()[:16]
                for name in ("dedup.py", "cluster.py")
            },
            "settings": {k: (str(v) if isinstance(v, timedelta) else v) for k, v in vars(DEFAULT).items()},
            "encoder": encoder.name,
            "clustering": clustering,
            "ntrex_cross_document_merges_at_default": merges,
            "nyt_same_guid": nyt,
            "planted_near_copies": planted,
            "italian_pairs": italian,
            "speed": {
                "encoder": enc,
                **process_speed,
                "sections_s": clock,
                "maxrss_mib": round(maxrss_mib(), 1),
            },
        },
    )


if __name__ == "__main__":
    main()
