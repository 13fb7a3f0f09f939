"""Grounding of a book from sources: citations, quotations, support, planted questions.

Writes a short oral history from the committed test corpus (tests/fixtures/sources: four
speakers, notes, an unreadable PDF and a stray file) with `bookwright write --sources` in
a fresh temporary BOOKWRIGHT_HOME, then reads each chapter as stored (its citations
still `[c…]` ids) and the store's passages:

- citations to ids that are not in the store (must be 0); a citation is any bracketed
  marker with a digit in it, as the job reads only `[c` + 8 hex digits;
- the share of sentences that cite a passage in the store (a citation written after the
  full stop belongs to the sentence before it; a quotation over several sentences is one);
- the share of quotations (12 characters or more in quotation marks) found nearly
  verbatim (rapidfuzz partial_ratio >= 90, as the job checks) in a passage of the speaker
  the sentence names, else of the speakers of the passages it cites; and exactly;
- the share of cited sentences whose content words overlap their cited passage at least
  as much as the job asks (a quarter), and the mean overlap; and the cited sentences that
  give a year their passages do not (outside quotations), which word overlap cannot see;
- the planted contradiction (the loom shed opened in 1952 or 1954) and gap (Pruett,
  named once) found in the `questions` artifact, and questions that are neither;
- tokens per 1,000 words of the book, from `bookwright status --json`;
- every chapter answer the model gave (read back from the DBOS checkpoints) read again
  as the job reads it: ids it wrote that are not in the store, sentences kept, and why
  the others were dropped.

Chapters the model could not write (edited from the sources by rule, a warning in
`status`) are counted apart, and the text figures are also given for the model's alone.

    BOOKWRIGHT_EMBEDDED__THREADS=1 .venv/bin/python bench/grounding.py [--model local]

`--model scripted` runs the tests' scripted server instead of a model (a dry run of the
bench, seconds). The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _scripted import (  # the benches' shared helpers (puts ROOT on the path)
    ROOT,
    cli,
    in_fresh_home,
)
from rapidfuzz import fuzz

from bookwright.jobs.sources.grounding import (
    CITE,
    QUOTE_MATCH,
    SUPPORT,
    read_grounded,
    support,
)
from bookwright.model.sources import Chunk
from bookwright.quality.text import normalize, sentences
from bookwright.store import Store

CORPUS = ROOT / "tests" / "fixtures" / "sources"
# A bracketed marker with a digit in it ([c1a2b3c4d], [adab23bac], [3]): a citation, in the
# job's form or not. One in another form is not read by the job, and stays in the text.
ANY_ID = re.compile(r"\[\s*([A-Za-z0-9-]*\d[A-Za-z0-9-]*)\s*\]")
YEAR = re.compile(r"\b(1[6-9]\d\d|20\d\d)\b")
QUOTED = re.compile(r"[\"“]([^\"“”]{12,})[\"”]")
LEADING_IDS = re.compile(r"^(?:\s*\[[^\[\]]*\])+")
INNER_DOT, DOT = re.compile(r"(?<=\w)\.(?=\w)"), "\u2024"
# What tests/test_sources.py plants in the corpus, and how a question names it.
PLANTED = {
    "contradiction: the loom shed opened in 1952 (Ada Lind) or 1954 (Bert Hale)": (
        lambda q: "1952" in q and "1954" in q
    ),
    "gap: Pruett, named once, never heard from": lambda q: "Pruett" in q,
}


def units(paragraph: str) -> list[str]:
    """The paragraph's sentences, each with its citations: ids that open a sentence go
    back to the one before, and a quotation's sentences are joined into one."""
    out: list[str] = []
    dotted = INNER_DOT.sub(DOT, paragraph.replace("\n", " "))  # "05-notes.md" is one word
    for sentence in (s.replace(DOT, ".") for s in sentences(dotted)):
        lead = LEADING_IDS.match(sentence)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            sentence = sentence[lead.end() :].strip()
        if not sentence:
            continue
        if out and _open_quote(out[-1]):
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


def _open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("“") > text.count("”")


def figures(texts: list[str], chunks: dict[str, Chunk], speakers: list[str]) -> dict[str, Any]:
    """The text figures of some chapters (each a list of paragraphs joined)."""
    said = [u for text in texts for p in text.split("\n\n") if p.strip() for u in units(p)]
    raw = [s for text in texts for s in sentences(text.replace("\n", " "))]
    cited = [u for u in said if any(i in chunks for i in CITE.findall(u))]
    ids = [i for u in said for i in ANY_ID.findall(u)]
    strays = [i for i in ids if i not in chunks]
    quotes = found = exact = unattributed = dated = misdated = 0
    overlaps: list[float] = []
    for unit in cited:
        sources = [chunks[i] for i in CITE.findall(unit) if i in chunks]
        overlaps.append(max(support(unit, c) for c in sources))
        years = set(YEAR.findall(QUOTED.sub(" ", ANY_ID.sub(" ", unit))))
        dated += bool(years)
        misdated += bool(years - {y for c in sources for y in YEAR.findall(c.text)})
        outside = QUOTED.sub(" ", unit)
        named = {s for s in speakers if re.search(rf"\b{re.escape(s.split()[0])}\b", outside)}
        who = named or {c.speaker for c in sources if c.speaker}
        # A quotation of written notes (no speaker): the passages it cites.
        pool = [c for c in chunks.values() if c.speaker in who] if who else sources
        for quote in QUOTED.findall(unit):
            quotes += 1
            unattributed += not who
            found += any(
                fuzz.partial_ratio(quote.casefold(), c.text.casefold()) >= QUOTE_MATCH for c in pool
            )
            exact += any(normalize(quote).strip(" .,") in normalize(c.text) for c in pool)
    uncited_quotes = sum(len(QUOTED.findall(u)) for u in said if u not in cited)
    return {
        "sentences": len(said),
        "cited_sentences": len(cited),
        "cited_share": round(len(cited) / len(said), 3) if said else None,
        "raw_sentences": len(raw),
        "raw_cited_share": (
            round(sum(1 for s in raw if CITE.search(s)) / len(raw), 3) if raw else None
        ),
        "citations": len(ids),
        "citations_not_in_store": len(strays),
        "not_in_store_in_job_form": sum(1 for i in strays if CITE.fullmatch(f"[{i}]")),
        "quotations": quotes,
        "quotations_verbatim": found,
        "quotations_verbatim_share": round(found / quotes, 3) if quotes else None,
        "quotations_exact_share": round(exact / quotes, 3) if quotes else None,
        "quotations_unattributed": unattributed,
        "quotations_uncited": uncited_quotes,
        "supported_share": (
            round(sum(1 for o in overlaps if o >= SUPPORT) / len(overlaps), 3) if overlaps else None
        ),
        "mean_support": round(statistics.mean(overlaps), 3) if overlaps else None,
        "cited_with_years": dated,
        "years_not_in_cited_passage": misdated,
        "words": sum(len(CITE.sub(" ", t).split()) for t in texts),
    }


REASONS = {  # what read_grounded says when it drops a sentence -> a short name
    "which is no source": "cites_unknown_id",
    "no source supports it": "uncited_unsupported",
    "cites a source of another chapter": "cites_other_chapter",
    "its source does not say this": "unsupported",
    "nobody said": "misquoted",
}


def answers(
    home: Path, store: Store, chunks: dict[str, Chunk], storyline: dict, target: int
) -> dict[str, Any]:
    """Every chapter answer the model gave (from the DBOS checkpoints), read again as the
    job reads it: sentences kept, and why the others were dropped."""
    import pickle
    import sqlite3
    from base64 import b64decode

    chapter_of = {str(r["id"]): r["chapter"] for r in store.requests("mill")}
    planned = {str(c["number"]): c["chunks"] for c in storyline["chapters"]}
    speakers = tuple(sorted({c.speaker for c in chunks.values() if c.speaker}))
    with contextlib.closing(sqlite3.connect(home / "books" / "mill" / "dbos.sqlite")) as db:
        rows = db.execute("SELECT output FROM operation_outputs WHERE function_name = 'llm'")
        outputs = [pickle.loads(b64decode(row[0])) for row in rows if row[0]]
    tally: dict[str, int] = dict.fromkeys(REASONS.values(), 0)
    kept = usable = ids = strays = 0
    for output in outputs:
        mine = planned.get(str(chapter_of.get(str(output.get("request_id")))), [])
        text = output.get("text") or ""
        found = ANY_ID.findall(text)
        ids += len(found)
        strays += sum(1 for i in found if i not in chunks)
        own = {i: chunks[i] for i in mine if i in chunks}
        reading = read_grounded(text, own, set(chunks), target, speakers)
        kept += len(reading.kept)
        usable += reading.usable
        for reason in reading.dropped:
            name = next((v for k, v in REASONS.items() if k in reason), "other")
            tally[name] = tally.get(name, 0) + 1
    return {
        "answers": len(outputs),
        "usable": usable,
        "ids_written": ids,
        "ids_not_in_store": strays,
        "sentences_kept": kept,
        "sentences_dropped": sum(tally.values()),
        "dropped_by_reason": tally,
    }


def measure(home: Path, settings: Path | None, model: str, args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {"bench": "grounding", "model": args.model, "ok": False}
    corpus = home.parent / "interviews"
    shutil.copytree(CORPUS, corpus)
    write = [
        "write", "--sources", str(corpus), "--title", "The Harwick Mill", "--kind",
        "oral-history", "--chapters", str(args.chapters), "--words-per-chapter",
        str(args.words_per_chapter), "--seed", str(args.seed), "--model", model,
        "--book-id", "mill",
    ]  # fmt: skip
    if args.temperature is not None:
        write += ["--temperature", str(args.temperature)]
    started = time.monotonic()
    proc = cli(home, settings, *write)
    result["write_seconds"] = round(time.monotonic() - started, 1)
    result["exit"] = proc.returncode
    if proc.returncode != 0:
        result["reason"] = f"write exited {proc.returncode}: {proc.stderr[-500:]}"
        return result
    report = json.loads(cli(home, settings, "status", "mill", "--json").stdout)
    store = Store(f"sqlite:///{home / 'bookwright.sqlite'}")

    def artifact(name: str) -> Any:
        found = store.get_artifact("mill", name)
        return found[1] if found else None

    index = artifact("sources")
    chunks = {c["id"]: Chunk.model_validate(c) for c in index["chunks"]}
    speakers = sorted({c.speaker for c in chunks.values() if c.speaker})
    storyline = artifact("storyline")
    planned = [c["number"] for c in storyline["chapters"]]
    texts = {n: "\n\n".join(artifact(f"chapter:{n}")["scenes"]) for n in planned}
    by_rule = {
        w["chapter"] for w in report["warnings"] if w["field"].startswith("sources.chapter.")
    }
    questions = [q["text"] for q in artifact("questions")["questions"]]
    found = {name: any(test(q) for q in questions) for name, test in PLANTED.items()}
    planted_hits = [q for q in questions if any(test(q) for test in PLANTED.values())]
    llm = report["llm"]
    tokens = llm["prompt_tokens"] + llm["completion_tokens"]
    every = figures(list(texts.values()), chunks, speakers)
    by_model = [t for n, t in texts.items() if n not in by_rule]
    result.update(
        ok=True,
        chapters=len(planned),
        chapters_by_rule=len(by_rule),
        passages=len(chunks),
        requests=llm["requests_sent"],
        errors_by_class=llm["errors_by_class"],
        tokens=tokens,
        tokens_per_1k_words=report["cost"]["tokens_per_1k_words"],
        **every,
        planted=len(PLANTED),
        planted_found=sum(found.values()),
        planted_detail=found,
        questions=len(questions),
        contradictions_not_planted=sum(
            1 for q in questions if q.startswith("Was it") and q not in planted_hits
        ),
        gaps_not_planted=sum(
            1 for q in questions if q.startswith("Who was") and q not in planted_hits
        ),
        other_questions=[q for q in questions if not q.startswith(("Was it", "Who was"))],
        judge_unsupported=sum(
            len((artifact(f"support:{n}") or {}).get("issues", [])) for n in planned
        ),
        model_chapters=figures(by_model, chunks, speakers) if by_model else None,
        model_answers=answers(home, store, chunks, storyline, args.words_per_chapter),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="`local`, PROVIDER:MODEL or scripted")
    parser.add_argument("--chapters", type=int, default=3)
    parser.add_argument("--words-per-chapter", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=None, help="default: the job's")
    parser.add_argument("--keep", type=Path, help="copy the home here to look at afterwards")
    args = parser.parse_args()
    result = in_fresh_home(
        "bw-grounding-",
        args.model,
        args.keep,
        lambda home, settings, model: measure(home, settings, model, args),
    )
    if result["ok"]:
        r = result
        print(
            f"{r['chapters']} chapters, {r['chapters_by_rule']} edited from the sources by "
            f"rule; {r['words']} words, {r['requests']} requests"
        )
        print(
            f"citations: {r['citations']}, {r['citations_not_in_store']} not in the store "
            f"(must be 0); {r['cited_sentences']} of {r['sentences']} sentences cited "
            f"({r['cited_share']})"
        )
        print(
            f"quotations: {r['quotations_verbatim']} of {r['quotations']} found in their "
            f"speaker's passages ({r['quotations_verbatim_share']}); cited sentences "
            f"supported by their passage: {r['supported_share']} (mean {r['mean_support']}); "
            f"{r['years_not_in_cited_passage']} of {r['cited_with_years']} with a year give one "
            "their passage does not"
        )
        print(
            f"planted found: {r['planted_found']} of {r['planted']}; questions {r['questions']}, "
            f"{r['contradictions_not_planted']} contradictions and {r['gaps_not_planted']} "
            "gaps not planted"
        )
        print(f"tokens: {r['tokens']}, {r['tokens_per_1k_words']} per 1,000 words")
        print(f"the model's answers, read again as the job reads them: {r['model_answers']}")
        if r["model_chapters"]:
            print(f"the model's chapters alone: {r['model_chapters']}")
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)  # 1: nothing measured (the JSON says why)


if __name__ == "__main__":
    main()
