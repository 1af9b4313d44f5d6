"""Glossary files -> validated entries.

Formats, by file extension (every such file at the top level of the corpus folder is a glossary):
- `.md`: the curated format (see README): `# Glossary name`, then `## Term` headings, optional
  `Aliases:`, `See also:`, `Source:` lines and `Asked:` lines (one example question each), then
  the definition; `[[...]]` marks words course staff wrote to complete a sentence the source cut
  short.
- `.csv` / `.tsv`: term, definition[, aliases[, see_also[, asked]]] (list items separated by `;`
  or `|`; example questions by `|`), optional header row.
- `.jsonl`: one object a line: {"term", "definition", "aliases"?, "see_also"?, "asked"?}.

`read_web_copy` parses the raw web-page copy the seed glossary came in; it is kept for provenance
(the curated Markdown is checked against it) and is not indexed itself.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import CorpusError, CorpusProblems
from .types import Entry, Source, content_hash

GLOSSARY_SUFFIXES = (".md", ".csv", ".tsv", ".jsonl")
MAX_DEFINITION_CHARS = 20_000
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ASKED_CHARS = 500  # an example question; a longer one is a definition in the wrong place
_COMPLETION = re.compile(r"\[\[(.*?)\]\]", re.S)


@dataclass
class Corpus:
    """Everything the index is built from."""

    entries: list[Entry]
    files: dict[str, str]  # file relative to the corpus folder -> sha256 of its bytes
    unread: list[str] = field(default_factory=list)  # what staff may have meant as glossaries (`unread_files`)

    @property
    def unread_note(self) -> str | None:
        if not self.unread:
            return None
        return (f"not read from the corpus folder: {', '.join(self.unread)} (glossaries are "
                f"{', '.join(GLOSSARY_SUFFIXES)} files at its top level)")

    @property
    def hash(self) -> str:
        return content_hash(*(f"{name}={digest}" for name, digest in sorted(self.files.items())), length=64)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The glossary files of a corpus folder, sorted; README files and hidden files are not glossaries."""
    if not corpus_dir.is_dir():
        raise CorpusError(corpus_dir, None, "corpus folder not found")
    root = corpus_dir.resolve()
    files = []
    for path in sorted(corpus_dir.iterdir()):
        if path.name.startswith(".") or path.name.lower().startswith("readme"):
            continue
        if path.is_file() and path.suffix.lower() in GLOSSARY_SUFFIXES:
            if not path.resolve().is_relative_to(root):
                raise CorpusError(path, None, "points outside the corpus folder; copy the file in instead of linking it")
            files.append(path)
    return files


def unread_files(corpus_dir: Path) -> list[str]:
    """What in a corpus folder looks meant as a glossary but is not read: files in other formats
    ("terms.xlsx", "notes.txt") and folders holding glossary files ("week2/", only the top level
    is read). Hidden and README files are not glossaries; a folder of other files (the shipped
    "seed/" with the raw source) is no mistake."""
    unread = []
    for path in sorted(corpus_dir.iterdir()):
        if path.name.startswith(".") or path.name.lower().startswith("readme"):
            continue
        if path.is_file() and path.suffix.lower() not in GLOSSARY_SUFFIXES:
            unread.append(path.name)
        elif path.is_dir() and any(p.suffix.lower() in GLOSSARY_SUFFIXES for p in path.rglob("*") if p.is_file()):
            unread.append(f"{path.name}/")
    return unread


def file_digests(corpus_dir: Path) -> dict[str, str]:
    """sha256 of each glossary file's bytes: cheap enough to check on every load."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in corpus_files(corpus_dir)}


MAX_PROBLEMS = 50  # reported at once; fixing them shows the rest


def load_corpus(corpus_dir: Path) -> Corpus:
    """Read and validate every glossary file. Problems are reported all at once (file and line
    each, up to MAX_PROBLEMS), so that staff fix a file in one round: a CorpusError for one,
    CorpusProblems for several. Checks across entries (duplicates, links) run once every file
    reads."""
    files = corpus_files(corpus_dir)
    if not files:
        raise CorpusError(corpus_dir, None, f"no glossary files ({', '.join(GLOSSARY_SUFFIXES)}) in the corpus folder")
    entries: list[Entry] = []
    digests: dict[str, str] = {}
    problems: list[CorpusError] = []
    for path in files:
        data = path.read_bytes()
        digests[path.name] = hashlib.sha256(data).hexdigest()
        found, wrong = _read_all(path, data, path.name)
        entries.extend(found)
        problems.extend(wrong)
    if not problems:
        problems = entry_problems(entries)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise CorpusProblems(problems[:MAX_PROBLEMS], capped=len(problems) >= MAX_PROBLEMS)
    return Corpus(entries=entries, files=digests, unread=unread_files(corpus_dir))


def _read_all(path: Path, data: bytes, name: str) -> tuple[list[Entry], list[CorpusError]]:
    """One file's entries, or every problem in it: after each, the part it is in (a Markdown
    entry, from its heading to the next; another format's line) is blanked and the file read
    again, line numbers kept. A problem of the whole file, of a table's header, or binary data
    ends the search."""
    problems: list[CorpusError] = []
    while True:
        try:
            return read_glossary(path, data, name), problems
        except CorpusError as exc:
            if exc.line is None and problems:  # "no entries": all that was left was blanked
                return [], problems
            problems.append(exc)
            table_header = Path(name).suffix.lower() in (".csv", ".tsv") and exc.line == 1
            if exc.line is None or table_header or b"\x00" in data or len(problems) >= MAX_PROBLEMS:
                return [], problems
            blanked = _blank(name, data, exc.line)
            if blanked == data:
                return [], problems
            data = blanked


def _blank(name: str, data: bytes, line: int) -> bytes:
    """The file with everything up to the part holding `line` blanked: what came before it read
    without a problem, so the next read starts past it (a file with many problems costs about one
    read, not one per problem). A table keeps its header row."""
    lines = data.split(b"\n")
    end = min(line, len(lines)) - 1
    suffix = Path(name).suffix.lower()
    if suffix == ".md":  # to the end of the entry: the next heading
        end += 1
        while end < len(lines) and not lines[end].lstrip().startswith(b"## "):
            end += 1
        end -= 1
    keep = 1 if suffix in (".csv", ".tsv") else 0
    return b"\n".join(lines[:keep] + [b""] * (end + 1 - keep) + lines[end + 1 :])


def read_glossary(path: Path, data: bytes | None = None, name: str | None = None) -> list[Entry]:
    """Parse one glossary file by its extension."""
    name = name or path.name
    data = path.read_bytes() if data is None else data
    if len(data) > MAX_FILE_BYTES:
        raise CorpusError(name, None, f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    text = _decode(name, data)
    if not text.strip():
        raise CorpusError(name, None, "file is empty: add entries or remove it")
    suffix = Path(name).suffix.lower()
    if suffix == ".md":
        entries = _read_markdown(name, text)
    elif suffix in (".csv", ".tsv"):
        entries = _read_table(name, text, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".jsonl":
        entries = _read_jsonl(name, text)
    else:
        raise CorpusError(name, None, f"unsupported glossary format {suffix!r}; use one of {', '.join(GLOSSARY_SUFFIXES)}")
    if not entries:
        raise CorpusError(name, None, "no glossary entries found (is this a glossary? see the README for the formats)")
    return entries


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise CorpusError(name, line, "binary data (NUL byte): this is not a text glossary")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(name, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_asked(name: str, line: int, question: str) -> None:
    if len(question) > MAX_ASKED_CHARS:
        raise CorpusError(name, line, f"example question is {len(question):,} characters; the limit is {MAX_ASKED_CHARS:,}: {question[:60]!r}...")


def _entry(name: str, line: int, **fields) -> Entry:
    """Build an Entry, turning pydantic's complaint into a CorpusError at this file and line."""
    definition = fields.get("definition") or ""
    if len(definition) > MAX_DEFINITION_CHARS:
        raise CorpusError(name, line, f"definition is {len(definition):,} characters; the limit is {MAX_DEFINITION_CHARS:,}")
    for question in fields.get("asked") or []:
        _check_asked(name, line, question)
    try:
        return Entry(source=Source(file=name, line=line), **fields)
    except ValidationError as exc:
        raise CorpusError(name, line, _problems(exc)) from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())


def _split_list(value: str, separators: str = ",") -> list[str]:
    return [part.strip() for part in re.split(f"[{re.escape(separators)}]", value) if part.strip()]


# --- the curated Markdown format -------------------------------------------------------------

_ASKED_LATE = re.compile(r"(?i)asked\s*:")
_META_KEYS = {"aliases": "aliases", "alias": "aliases", "see also": "see_also", "source": "origin", "asked": "asked"}
_HEADING_NO_SPACE = re.compile(r"^##(?!#)[^\s#]")  # "##Bloom"
_FIELD_LIKE = re.compile(r"^[A-Z][A-Za-z]*(?: [A-Za-z]+)?:(?:\s|$)")  # "Synonyms: ...", "Related terms:"


def _read_markdown(name: str, text: str) -> list[Entry]:
    lines = text.split("\n")
    glossary = Path(name).stem
    entries: list[Entry] = []
    current: dict | None = None

    def finish() -> None:
        if current is None:
            return
        body = "\n".join(current["body"]).strip()
        body = re.sub(r"[ \t]*\n[ \t]*(?!\n)", " ", body)  # join wrapped lines, keep paragraph breaks
        body = re.sub(r"\n{2,}", "\n\n", body)
        if not body:
            raise CorpusError(name, current["line"], f"entry {current['term']!r} has no definition")
        if body.count("[[") != body.count("]]"):
            raise CorpusError(name, current["line"], "unbalanced [[ ]] completion mark")
        completed = [m.group(1).strip() for m in _COMPLETION.finditer(body)]
        definition = _COMPLETION.sub(lambda m: m.group(1), body)
        entries.append(
            _entry(
                name,
                current["line"],
                term=current["term"],
                definition=definition,
                aliases=current.get("aliases", []),
                see_also=current.get("see_also", []),
                completed=completed,
                glossary=glossary,
                origin=current.get("origin"),
                asked=current.get("asked", []),
            )
        )

    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("# ") and current is None and not entries:
            glossary = stripped[2:].strip() or glossary
            continue
        if _HEADING_NO_SPACE.match(stripped):
            raise CorpusError(name, number, f"{stripped[:40]!r} looks like a heading: write '## {stripped.lstrip('#')[:30]}'")
        if stripped.startswith("## "):
            finish()
            term = stripped[3:].strip()
            if not term:
                raise CorpusError(name, number, "a '## ' heading needs a term")
            current = {"term": term, "line": number, "body": [], "in_meta": True}
            continue
        if current is None:
            continue  # the glossary's introduction
        if current["in_meta"]:
            key, sep, value = stripped.partition(":")
            field_name = _META_KEYS.get(key.strip().lower()) if sep else None
            if field_name == "asked":  # one example question a line; commas are part of it
                if not value.strip():
                    raise CorpusError(name, number, "an 'Asked:' line needs a question")
                _check_asked(name, number, value.strip())  # at its own line, not the heading's
                current.setdefault("asked", []).append(value.strip())
                continue
            if field_name:
                current[field_name] = value.strip() if field_name == "origin" else _split_list(value)
                continue
            if not stripped:
                continue
            if _FIELD_LIKE.match(stripped):  # "Synonyms: ..." would silently open the definition
                raise CorpusError(name, number, f"unknown field {stripped.partition(':')[0]!r} under the heading; the fields "
                                                "are Aliases, See also, Source and Asked (a definition cannot open with a word and a colon)")
            current["in_meta"] = False
        elif _ASKED_LATE.match(stripped):  # it would be quoted as part of the definition
            raise CorpusError(name, number, "an 'Asked:' line goes right under the '## ' heading (with Aliases and See also), before the definition")
        current["body"].append(line)
    finish()
    return entries


# --- CSV / TSV -------------------------------------------------------------------------------

_COLUMNS = ("term", "definition", "aliases", "see_also", "asked")


def _read_table(name: str, text: str, delimiter: str) -> list[Entry]:
    glossary = Path(name).stem
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))  # our own limit gives the message
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    entries: list[Entry] = []
    columns = list(_COLUMNS)
    start = 1
    try:
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            header = [c.strip().lower().replace(" ", "_") for c in row]
            if not entries and header[0] == "term":  # a header row, however its other names are spelt
                unknown = [c for c in header if c not in _COLUMNS]
                if unknown or "definition" not in header or len(set(header)) < len(header):
                    problem = f"unknown column(s) {unknown}" if unknown else "no 'definition' column" if "definition" not in header else "a column named twice"
                    raise CorpusError(name, line, f"{problem} in the header; expected term, definition, aliases, see_also, asked")
                columns = header
                continue
            if len(row) < 2 or len(row) > len(columns):
                optional = f"[, {', '.join(columns[2:])}]" if columns[2:] else ""
                hint = (f" (the line has ';': save the file separated by {delimiter!r}, or as .tsv)"
                        if len(row) == 1 and delimiter != ";" and ";" in row[0] else "")
                raise CorpusError(name, line, f"expected {', '.join(columns[:2])}{optional} separated by {delimiter!r}; found {len(row)} column(s){hint}")
            values = dict(zip(columns, (cell.strip() for cell in row)))
            separators = ";|" + ("," if delimiter == "\t" else "")
            for alias in _split_list(values.get("aliases", ""), separators):
                if alias.endswith(".") and len(alias.split()) >= 3:  # "Router,Forwards packets, using tables.,,"
                    raise CorpusError(name, line, f"alias {alias!r} reads like the end of a sentence: if the definition holds "
                                                  f"{'a comma' if delimiter == ',' else 'the separator'}, put it in double quotes")
            entries.append(
                _entry(
                    name,
                    line,
                    term=values["term"],
                    definition=values["definition"],
                    aliases=_split_list(values.get("aliases", ""), separators),
                    see_also=_split_list(values.get("see_also", ""), separators),
                    asked=_split_list(values.get("asked", ""), "|"),
                    glossary=glossary,
                )
            )
    except csv.Error as exc:
        kind = "TSV" if delimiter == chr(9) else "CSV"
        if reader.line_num > start:  # a quoted field ran on past its line: name the line where it opened
            where = "is never closed" if "end of data" in str(exc) else f"runs on to line {reader.line_num} ({exc})"
            raise CorpusError(name, start, f"malformed {kind}: a double quote opened on this line {where}") from None
        raise CorpusError(name, reader.line_num, f"malformed {kind}: {exc}") from None
    return entries


# --- JSONL -----------------------------------------------------------------------------------

class _JsonEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    term: str
    definition: str
    aliases: list[str] = []
    see_also: list[str] = []
    asked: list[str] = []


def _read_jsonl(name: str, text: str) -> list[Entry]:
    glossary = Path(name).stem
    entries: list[Entry] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(name, number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        try:
            item = _JsonEntry.model_validate(record)
        except ValidationError as exc:
            raise CorpusError(name, number, _problems(exc)) from None
        entries.append(_entry(name, number, glossary=glossary, **item.model_dump()))
    return entries


# --- checks across entries -------------------------------------------------------------------

def normalize_name(text: str) -> str:
    """How names are compared: case, punctuation and hyphens do not matter."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def entry_problems(entries: list[Entry]) -> list[CorpusError]:
    """Duplicate terms, aliases that name another entry, see-also links to nowhere, and one example
    question given for two entries."""
    problems: list[CorpusError] = []
    owners: dict[str, Entry] = {}
    for entry in entries:
        key = normalize_name(entry.term)
        if key in owners:
            first = owners[key]
            problems.append(CorpusError(
                entry.source.file, entry.source.line, f"duplicate term {entry.term!r}: already defined at {first.source}"
            ))
        owners.setdefault(key, entry)
    for entry in entries:
        for alias in entry.aliases:
            owner = owners.get(normalize_name(alias))
            if owner is not None and owner is not entry:
                problems.append(CorpusError(
                    entry.source.file, entry.source.line,
                    f"alias {alias!r} of {entry.term!r} is already the term or an alias of {owner.term!r} ({owner.source})",
                ))
            owners.setdefault(normalize_name(alias), entry)
    terms = {normalize_name(e.term) for e in entries}
    for entry in entries:
        for link in entry.see_also:
            if normalize_name(link) not in terms:
                problems.append(CorpusError(entry.source.file, entry.source.line,
                                            f"see-also {link!r} of {entry.term!r} is not a term in the corpus"))
    asked: dict[str, Entry] = {}
    for entry in entries:
        seen: set[str] = set()
        for question in entry.asked:
            key = normalize_name(question)
            if key in seen:
                problems.append(CorpusError(entry.source.file, entry.source.line,
                                            f"example question {question!r} of {entry.term!r} is given twice"))
            seen.add(key)
            owner = asked.setdefault(key, entry)
            if owner is not entry:
                problems.append(CorpusError(
                    entry.source.file, entry.source.line,
                    f"example question {question!r} of {entry.term!r} is already one of {owner.term!r} ({owner.source})"))
    return problems


# --- the raw web-page copy the seed came in ----------------------------------------------------

_CUT = "… #"
_MARK = " #"


def _is_hyphen_break(before: str, after: str) -> bool:
    """A line ending in ' #' is a hyphen the copy broke, or a sentence end whose period was lost."""
    if not after:
        return False
    if after[0].islower():
        return True
    unclosed_paren = before.count("(") > before.count(")")
    return unclosed_paren or len(before.split()) <= 3


def read_web_copy(path: Path) -> list[Entry]:
    """Parse the seed glossary as copied from its web page (see corpus/seed/README in the repo and
    the project README): headings `Term #`, first definition lines cut at `… #`, hyphens broken
    into ` #` + newline, a repeated block whose last entry is cut off. Duplicates are merged: the
    first complete copy wins, a cut-off copy never does."""
    name = f"{path.parent.name}/{path.name}"
    lines = _decode(name, path.read_bytes()).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    glossary = lines[0].strip() if lines else path.stem
    entries: dict[str, Entry] = {}
    complete: dict[str, bool] = {}
    i = 2  # line 1 is the title, line 2 the page's blurb
    while i < len(lines):
        heading_line = i + 1
        line = lines[i].rstrip()
        if not line.endswith(_MARK):
            raise CorpusError(name, heading_line, f"expected a heading ending in ' #', found {line[:60]!r}")
        term = line[: -len(_MARK)].strip()
        i += 1
        if i < len(lines) and lines[i].rstrip().endswith(":") and not lines[i].rstrip().endswith(_MARK):
            term = f"{term}-{lines[i].rstrip()[:-1].strip()}"  # 'Long Short #' + 'Term Memory (LSTM):'
            i += 1
        parts: list[str] = []
        is_complete = True
        while i < len(lines):
            text = lines[i].rstrip()
            i += 1
            if text.endswith(_CUT):
                parts.append(text[: -len(_MARK)].rstrip() + " ")
                if i >= len(lines):
                    is_complete = False  # the file ends mid-definition
                continue
            if text.endswith(_MARK):
                before = text[: -len(_MARK)]
                after = lines[i].lstrip() if i < len(lines) else ""
                if _is_hyphen_break(before, after):
                    parts.append(before + "-")
                else:
                    parts.append(before + ". ")
                if i >= len(lines):
                    is_complete = False
                continue
            parts.append(text)
            break
        definition = "".join(parts).strip()
        key = normalize_name(term)
        if key in entries and (complete[key] or not is_complete):
            continue
        entries[key] = _entry(name, heading_line, term=term, definition=definition, glossary=glossary)
        complete[key] = is_complete
    return list(entries.values())
