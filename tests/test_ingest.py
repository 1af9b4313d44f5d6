"""The corpus stage: the seed's quirks, the curated file, the staff formats, bad files."""
from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import CorpusError, CorpusProblems
from qa.ingest import load_corpus, read_glossary, read_web_copy

from conftest import ROOT, SEED

TERMS = (ROOT / "eval" / "TERMS.txt").read_text().splitlines()


@pytest.fixture(scope="module")
def seed_entries():
    return read_web_copy(SEED)


def by_term(entries):
    return {e.term: e for e in entries}


def test_seed_has_the_41_distinct_terms_with_proper_names(seed_entries):
    assert [e.term for e in seed_entries] == TERMS
    assert len(seed_entries) == 41
    for name in ("Long Short-Term Memory (LSTM)", "Cross-Validation", "K-means",
                 "t-Distributed Stochastic Neighbor Embedding (t-SNE)"):
        assert name in by_term(seed_entries)


def test_seed_hyphen_breaks_are_repaired_and_sentence_ends_kept(seed_entries):
    entries = by_term(seed_entries)
    assert "well-suited for sequence data" in entries["Recurrent Neural Network (RNN)"].definition
    assert entries["DBSCAN"].definition.startswith("DBSCAN (Density-Based Spatial Clustering")
    assert entries["Long Short-Term Memory (LSTM)"].definition.startswith("Long Short-Term Memory (LSTM) is a type")
    assert entries["Cross-Validation"].definition.startswith("Cross-validation is a technique")
    assert "used to train neural networks. It involves calculating" in entries["Backpropagation"].definition
    assert not any(" #" in e.definition for e in seed_entries)


def test_seed_repeated_block_merged_complete_copy_wins(seed_entries):
    entries = by_term(seed_entries)
    kernel = entries["Kernel"]
    # The last copy (line 183) is cut off at the end of the file; the first complete one (line 71) wins.
    assert kernel.source.line == 71
    assert kernel.definition.endswith("radial basis function (RBF) kernels.")
    assert entries["Recurrent Neural Network (RNN)"].source.line == 18
    assert entries["Overfitting"].source.line == 31


def test_seed_entries_know_their_file_and_line(seed_entries):
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for entry in seed_entries:
        assert entry.source.file == "seed/000_d856c9935c47d7f5.txt"
        heading = lines[entry.source.line - 1]
        assert heading.endswith(" #")
        assert heading[:-2].split()[0] in entry.term


def test_curated_glossary_keeps_the_seed_words_and_marks_completions(seed_entries):
    curated = by_term(read_glossary(ROOT / "corpus" / "deep-learning.md"))
    assert list(curated) == TERMS
    raw = (ROOT / "corpus" / "deep-learning.md").read_text(encoding="utf-8")
    for term, seed in by_term(seed_entries).items():
        entry = curated[term]
        assert entry.origin == f"{seed.source}", term
        if "…" in seed.definition:
            before, after = seed.definition.split("… ", 1)
            # The cut word may be dropped and rewritten inside the completion.
            kept = before.rsplit(" ", 1)[0]
            assert entry.definition.startswith(kept), term
            assert entry.definition.endswith(after), term
            assert entry.completed, f"{term}: the cut sentence must be completed and marked"
            assert any(f"[[{span}]]" in raw for span in entry.completed)
        else:
            assert entry.definition == seed.definition, term
            assert not entry.completed
    assert sum(len(e.aliases) for e in curated.values()) >= 60
    assert {"LSTM", "SVM", "PCA", "t-SNE", "GAN", "CNN", "RNN", "batch norm"} <= {a for e in curated.values() for a in e.aliases}


def test_shipped_corpus_loads(workdir):
    corpus = load_corpus(workdir / "corpus")
    assert len(corpus.entries) == 41
    assert set(corpus.files) == {"deep-learning.md"}


# --- staff formats ---------------------------------------------------------------------------

def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_csv_tsv_jsonl_and_markdown_are_all_read(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "a.csv", "term,definition,aliases,asked\nEpoch,One full pass over the training data.,epochs;pass,"
                           '"why train for more than one pass, if the data is the same? | how long should training run"\n'
                           '"Batch Size","The number of examples, per step, used to compute a gradient.",,\n')
    write(corpus, "b.tsv", "Tokenizer\tSplits text into tokens.\ttokeniser, tokenizers\n")
    write(corpus, "c.jsonl", '{"term": "Attention", "definition": "Weights inputs by relevance.", "aliases": ["self-attention"], '
                             '"asked": ["which words matter most?"]}\n\n')
    write(corpus, "d.md", "# Course terms\n\n## Beam Search\nAliases: beam decoding\nAsked: why not keep only the best word, each step?\n"
                          "Asked: how do decoders avoid greedy mistakes\n\nKeeps the k best partial [[sequences at each step.]]\n")
    write(corpus, "README.md", "# Not a glossary\n")
    write(corpus, "notes.txt", "ignored")
    entries = {e.term: e for e in load_corpus(corpus).entries}
    assert set(entries) == {"Epoch", "Batch Size", "Tokenizer", "Attention", "Beam Search"}
    assert entries["Epoch"].aliases == ["epochs", "pass"]
    assert entries["Batch Size"].definition == "The number of examples, per step, used to compute a gradient."
    assert entries["Tokenizer"].aliases == ["tokeniser", "tokenizers"]
    assert entries["Attention"].source.line == 1 and entries["Attention"].glossary == "c"
    beam = entries["Beam Search"]
    assert (beam.glossary, beam.source.file, beam.source.line) == ("Course terms", "d.md", 3)
    assert beam.definition == "Keeps the k best partial sequences at each step."
    assert beam.completed == ["sequences at each step."]
    # Example questions: one a Markdown line (a comma is part of it), `|` between them in a table.
    assert beam.asked == ["why not keep only the best word, each step?", "how do decoders avoid greedy mistakes"]
    assert entries["Epoch"].asked == ["why train for more than one pass, if the data is the same?", "how long should training run"]
    assert entries["Attention"].asked == ["which words matter most?"]
    assert entries["Batch Size"].asked == entries["Tokenizer"].asked == []


@pytest.mark.parametrize(
    "name, text, line, words",
    [
        ("bad.jsonl", '{"term": "A", "definition": "x"}\n{"term": "B"\n', 2, "not valid JSON"),
        ("bad.jsonl", '{"term": "A", "definition": "x"}\n{"term": "B"}\n', 2, "definition"),
        ("bad.jsonl", '{"term": "A", "definition": "x", "colour": 1}\n', 1, "colour"),
        ("bad.csv", "Epoch,One pass.\nLonely\n", 2, "found 1 column"),
        ("bad.csv", 'Epoch,"unclosed\n', None, "malformed CSV"),
        ("open.csv", 'Epoch,One pass.\nBatch,"Many rows.\nLoss,An error.\nStep,One update.\n', 2,
         "a double quote opened on this line is never closed"),
        ("open.csv", 'Epoch,One pass.\nBatch,"Many rows.\nLoss,"An error."\nStep,One update.\n', 2,
         "a double quote opened on this line runs on to line 3"),  # a later quote closes it wrongly
        ("bad.csv", "Epoch, \n", 1, "definition"),
        ("bad.md", "# G\n\n## Epoch\n\n## Batch\nSome text.\n", 3, "has no definition"),
        ("bad.md", "# G\n\n## Epoch\nA pass [[over the data.\n", 3, "unbalanced"),
        ("dup.csv", "Epoch,One pass.\nepoch,Another pass.\n", 2, "duplicate term 'epoch': already defined at dup.csv:1"),
        ("empty.csv", "", None, "empty"),
        ("blank.md", "\n\n   \n", None, "empty"),
        ("prose.md", "# Some notes\n\nJust a paragraph, no entries.\n", None, "no glossary entries"),
        ("latin1.csv", "Epoch,One pass.\nCaf\xe9,x\n".encode("latin-1"), 2, "not UTF-8"),
        ("bin.jsonl", b'{"term": "A", "definition": "x"}\n\x00\x01\x02', 2, "binary"),
        ("huge.csv", "Epoch," + "word " * 100_000 + "\n", 1, "the limit is 20,000"),
        ("asked.md", "# G\n\n## Epoch\nAsked:\n\nOne pass.\n", 4, "needs a question"),
        ("asked.jsonl", '{"term": "A", "definition": "x", "asked": ["' + "why " * 200 + '"]}\n', 1, "the limit is 500"),
        ("asked.jsonl", '{"term": "A", "definition": "x", "asked": ["Why so?"]}\n{"term": "B", "definition": "y", "asked": ["why so"]}\n',
         2, "example question 'why so' of 'B' is already one of 'A' (asked.jsonl:1)"),
        ("asked.jsonl", '{"term": "A", "definition": "x", "asked": ["Why so?", "why so"]}\n', 1, "'why so' of 'A' is given twice"),
        ("typo.csv", "term,defintion\nEpoch,One pass.\n", 1, "unknown column(s) ['defintion'] in the header"),
        ("comma.csv", "Router,Forwards packets between networks, using routing tables.,,\n", 1, "put it in double quotes"),
        ("asked.md", "# G\n\n## Epoch\n\nOne pass.\nAsked: how many passes?\n", 6, "goes right under the '## ' heading"),
        ("asked.md", "# G\n\n## Epoch\nAsked: " + "why " * 200 + "\n\nOne pass.\n", 4, "the limit is 500"),
        ("nospace.md", "# G\n\n## Epoch\nOne pass.\n\n##Batch\nMany rows.\n", 6, "'##Batch' looks like a heading: write '## Batch'"),
        ("field.md", "# G\n\n## Epoch\nSynonyms: pass\n\nOne pass.\n", 4, "unknown field 'Synonyms' under the heading"),
        ("semi.csv", "term;definition\nEpoch;One pass.\n", 1, "the line has ';': save the file separated by ','"),
    ],
)
def test_bad_glossary_lines_name_file_and_line(tmp_path, name, text, line, words):
    corpus = tmp_path / "corpus"
    write(corpus, name, text)
    with pytest.raises(CorpusError) as caught:
        load_corpus(corpus)
    message = str(caught.value)
    assert words in message
    assert message.startswith(f"{name}:{line}:" if line else f"{name}:")


def test_duplicates_across_files_name_both_places(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "a.csv", "Epoch,One pass.\n")
    write(corpus, "b.jsonl", '{"term": "EPOCH", "definition": "Again."}\n')
    with pytest.raises(CorpusError, match=r"^b.jsonl:1: duplicate term 'EPOCH': already defined at a.csv:1"):
        load_corpus(corpus)


def test_alias_that_names_another_entry_and_unknown_see_also_are_errors(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "a.jsonl", '{"term": "Epoch", "definition": "x"}\n{"term": "Pass", "definition": "y", "aliases": ["epoch"]}\n')
    with pytest.raises(CorpusError, match="a.jsonl:2: alias 'epoch' of 'Pass' is already the term or an alias of 'Epoch'"):
        load_corpus(corpus)
    write(corpus, "a.jsonl", '{"term": "Epoch", "definition": "x", "see_also": ["Nothing"]}\n')
    with pytest.raises(CorpusError, match="see-also 'Nothing'"):
        load_corpus(corpus)


def test_missing_or_empty_corpus_folder(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no glossary files"):
        load_corpus(tmp_path / "empty")


def test_symlink_out_of_the_corpus_folder_is_refused(tmp_path):
    outside = write(tmp_path / "elsewhere", "secret.csv", "Key,Value.\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "link.csv").symlink_to(outside)
    with pytest.raises(CorpusError, match="outside the corpus folder"):
        load_corpus(corpus)


def test_every_problem_is_reported_at_once(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "staff.md", "# G\n\n## Epoch\nOne pass.\n\n##Attention\nWeighs inputs.\n\n## Batch\nSynonyms: minibatch\n\n"
                              "Rows per update.\n\n## Momentum\nA running average.\n")
    write(corpus, "extra.csv", "term,definition\nForest,Many trees.\nBagging;Bootstrap\nStump,One split.\n")
    write(corpus, "more.jsonl", '{"term": "Lasso", "definition": "L1."}\n{"term": "Ridge"\n{"definition": "no term"}\n')
    with pytest.raises(CorpusProblems) as caught:
        load_corpus(corpus)
    assert [(p.path, p.line) for p in caught.value.problems] == [
        ("extra.csv", 3), ("more.jsonl", 2), ("more.jsonl", 3), ("staff.md", 6), ("staff.md", 10)]
    assert str(caught.value).splitlines()[0] == "5 problems in the glossary files:"
    assert str(caught.value).splitlines()[4].startswith("staff.md:6: '##Attention' looks like a heading")
    # fixed, the checks across entries report every duplicate too
    write(corpus, "staff.md", "# G\n\n## Epoch\nOne pass.\n\n## Forest\nTrees.\n")
    write(corpus, "extra.csv", "term,definition\nForest,Many trees.\nEpoch,Again.\n")
    write(corpus, "more.jsonl", '{"term": "Lasso", "definition": "L1."}\n')
    with pytest.raises(CorpusProblems) as caught:
        load_corpus(corpus)
    assert [(p.path, p.line, p.reason.split(":")[0]) for p in caught.value.problems] == [
        ("staff.md", 3, "duplicate term 'Epoch'"), ("staff.md", 6, "duplicate term 'Forest'")]


def test_one_problem_is_reported_as_before(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "a.md", "# G\n\n## Epoch\nOne pass.\n\n## Batch\nSynonyms: x\n\nRows.\n")
    with pytest.raises(CorpusError) as caught:
        load_corpus(corpus)
    assert type(caught.value) is CorpusError and str(caught.value).startswith("a.md:7: unknown field 'Synonyms'")


def test_problems_past_the_cap_are_said_to_be_more(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "many.jsonl", "".join('{"term": "T%d"\n' % n for n in range(60)))
    with pytest.raises(CorpusProblems) as caught:
        load_corpus(corpus)
    assert len(caught.value.problems) == 50 and caught.value.problems[-1].line == 50
    assert str(caught.value).startswith("the first 50 problems in the glossary files:\nmany.jsonl:1: ")
