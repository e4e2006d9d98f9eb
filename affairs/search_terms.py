"""Search terms for Chinese without `$text` (SecantusDB has none): computed once at publish time into an indexed
array, so a search is an exact-match `$all` over a multikey index.

What a name or keyword contributes:
- every character and every character bigram (`出生医学证明` → 出, 生, …, 出生, 生医, 医学, 学证, 证明), so any
  contiguous part of two characters or more is found without a dictionary;
- jieba's words (`营业执照设立登记` → 营业, 执照, 营业执照, 设立, 登记, …) — these give the word boundaries for pinyin;
- pinyin, full and initials, of the whole text and of each word (`chushengyixuezhengming`, `csyxzm`, `yyzz`), and
  the prefixes of the whole text's pinyin at syllable boundaries (`cs`, `csyx`, `chusheng`), so typing
  pinyin finds a matter before the phrase is finished.

A query is cut the same simple way (bigrams for Chinese, whole runs for Latin letters and digits) and every query
term must match. No dictionary is needed to search, so the read path never loads jieba. Loading jieba's
dictionary takes about a second of CPU: `extract_terms` runs in a worker thread (`compute_terms`), never on the
IOLoop, and the dictionary loads there on first use.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import jieba
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading to stderr at DEBUG; our logs stay JSON

MAX_QUERY_CHARS = 50
MAX_QUERY_TERMS = 12
_SEGMENT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class SearchTerms:
    name_terms: list[str]  # from the name only: a query matching these ranks first
    terms: list[str]  # name and keywords: what a query must match at all
    sort_key: str  # the name in pinyin, for the alphabetical order of lists


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case, so `ＣＳＹＸ` and `csyx` are one query."""
    return unicodedata.normalize("NFKC", text).lower().strip()


def _segments(text: str) -> list[str]:
    return _SEGMENT_RE.findall(normalise(text))


def _is_cjk(segment: str) -> bool:
    return bool(_CJK_RE.match(segment))


def _bigrams(segment: str) -> list[str]:
    return [segment[i:i + 2] for i in range(len(segment) - 1)]


def _pinyin_terms(text: str, *, prefixes: bool) -> set[str]:
    full = lazy_pinyin(text)
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER)
    terms = {"".join(full), "".join(initials)} if len(text) > 1 else {"".join(full)}
    if prefixes:
        terms |= {"".join(initials[:n]) for n in range(2, len(initials))}
        terms |= {"".join(full[:n]) for n in range(1, len(full))}
    return terms


def text_terms(text: str) -> set[str]:
    """Every term one name or keyword contributes (see the module docstring). Needs jieba: call off the loop."""
    terms: set[str] = set()
    chinese = [segment for segment in _segments(text) if _is_cjk(segment)]
    for segment in _segments(text):
        if not _is_cjk(segment):
            terms.add(segment)
            continue
        terms.add(segment)
        terms.update(segment)
        terms.update(_bigrams(segment))
        for word in jieba.cut_for_search(segment):
            if len(word) >= 2:
                terms.add(word)
                terms |= _pinyin_terms(word, prefixes=False)
        terms |= _pinyin_terms(segment, prefixes=True)
    if len(chinese) > 1:  # `户口登记（出生登记）`: pinyin of the whole name across the brackets too
        terms |= _pinyin_terms("".join(chinese), prefixes=True)
    return terms


def extract_terms(name: str, keywords: Iterable[str]) -> SearchTerms:
    """The terms of a matter's name and keywords. CPU-bound (jieba): `compute_terms` runs it in a thread."""
    name_terms = text_terms(name)
    terms = set(name_terms)
    for keyword in keywords:
        terms |= text_terms(keyword)
    return SearchTerms(sorted(name_terms), sorted(terms), sort_key=sort_key(name))


async def compute_terms(name: str, keywords: Iterable[str]) -> SearchTerms:
    """`extract_terms` in the default executor: the first call loads jieba's dictionary (~1 s of CPU)."""
    return await asyncio.get_running_loop().run_in_executor(None, extract_terms, name, list(keywords))


def sort_key(name: str) -> str:
    """Alphabetical order by pinyin, the order Chinese directories use (`bu` 不动产 before `chu` 出生)."""
    return " ".join(lazy_pinyin(normalise(name)))


def query_terms(query: str) -> list[str]:
    """What a query must match, in order: bigrams of Chinese runs (a single character stays itself) and whole
    runs of Latin letters or digits (pinyin, initials, numbers). Cheap and dictionary-free: safe on the loop."""
    out: list[str] = []
    for segment in _segments(query[:MAX_QUERY_CHARS]):
        pieces = _bigrams(segment) if _is_cjk(segment) and len(segment) > 1 else [segment]
        out.extend(piece for piece in pieces if piece not in out)
    return out[:MAX_QUERY_TERMS]
