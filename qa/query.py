"""Question text -> a cleaned question, what kind of question it is, and how a follow-up reads
in the light of the conversation. Rules only; no language model."""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from .settings import MAX_QUESTION_CHARS

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CODE = re.compile(r"(?is)<(script|style)\b[^>]*>.*?</\1\s*>")
# A tag: a closing one anywhere, an opening one not glued to a word ("a < b and c > d" and
# "loss<threshold and acc>0.9" are comparisons, not tags).
_TAGS = re.compile(r"</[a-zA-Z][^<>]{0,200}>|(?<!\w)<[a-zA-Z!][^<>]{0,200}>")
_FILLERS = r"(?:(?:so|ok|okay|and|but|then|hey|hi|yo|um|uh|hmm|wait|ngl|lol|btw|please|pls|can you|could you)[\s,:]+)*"
# "the word 'X'", "the term "X"": the kind of name said, only before a quote
_NAMED_AS = r"(?:(?:word|term|phrase|expression|acronym|abbreviation)\s+(?=['\"‘“]))?"
_DEFINE = re.compile(
    r"^" + _FILLERS +
    r"(?:what(?:'s|s| is) (?:the (?:deal|story)|up) (?:with|w/)|"  # before "what's" alone takes "the deal" for the subject
    r"what(?: exactly| even| actually| really)?(?:'s|s| is| are| r| was)|define|definition of|explain|describe|meaning of|tell me about|"
    r"what do you mean by|what is meant by|whats the meaning of|what is the meaning of|what about|how about)\s+"
    r"(?:an? |(?P<the>the ))?" + _NAMED_AS +
    r"(?P<subject>.+?)(?:\s+(?:mean|means|stand for|stands for))?\s*[?.!]*$"
)
# "what does X mean (in this context)?", "what does X stand for", "what does X do": only with the
# verb ("what does the second network, the one that judges, actually learn?" asks no definition).
_DEFINE_DOES = re.compile(
    r"^" + _FILLERS + r"what (?:does|do) (?!(?:i|we|you|u|they|he|she|people|someone|anyone)\b)"  # not "what do i do?"
    r"(?:an? |(?P<the>the ))?" + _NAMED_AS +
    r"(?P<subject>.+?)\s+(?:means?|stands? for|do)(?:,?\s+(?:in|here|for|exactly|precisely|actually|really|again)\b.*)?\s*[?.!]*$"
)
# "ANN stands for what?", "so lstm means what", "what GAN stands for": a subject of a few words
_DEFINE_AFTER = re.compile(
    r"^" + _FILLERS + r"(?:what )?(?:the )?" + _NAMED_AS +
    r"(?P<subject>[^\s?]+(?: [^\s?]+){0,3}) (?:stands? for|means)(?: what)?\s*[?.!]*$"
)
# "can someone explain what a hyperparameter is", "i don't get what dropout does"
_DEFINE_EMBEDDED = re.compile(
    r"^" + _FILLERS + r"(?:(?:can|could) (?:you|someone|anyone) |i (?:don'?t|do not) (?:get|understand|know) |"
    r"i (?:want|need) to know |(?:please )?(?:explain|tell me|describe)(?: to me)? )+"
    r"what (?:an? |(?P<the>the ))?(?P<subject>.+?) (?:is|are|means|does|do|stands for)\s*[?.!]*$"
)
# A qualifier after the subject says how or where to explain it, not what it is ("what is an ANN in
# machine learning", "explain overfitting in simple terms", "... like i'm 5").
_FIELD = (r"(?:in|for)\s+(?:the\s+context\s+of\s+)?(?:machine\s+learning|deep\s+learning|ml|dl|ai|data\s+science|statistics"
          r"|neural\s+net(?:work)?s?|this\s+course)")  # "in machine learning", "for this course"
_QUALIFIER = re.compile(
    r"\s+(?:" + _FIELD + r"|(?:in|for)\s+(?:the\s+context\s+of\s+)?(?:"
    r"simple\s+(?:terms|words|english)|plain\s+(?:english|words)|layman'?s\s+terms|a\s+nutshell|short|brief|general|practice"
    # how long: "in one line", "in two sentences", "in a few words", "in 3 bullet points"
    r"|(?:an?|one|two|three|four|five|a\s+few|few|a\s+couple(?:\s+of)?|\d+)\s+(?:short\s+)?(?:sentences?|lines?|words?|paragraphs?|(?:bullet\s+)?points?|bullets?)"
    r"|(?:a\s+)?beginners?|dummies|a\s+(?:5|five)\s+year\s+old)|like\s+i'?m\s+(?:5|five)|eli5"
    r"|(?:simply\s+|briefly\s+|quickly\s+)?explained(?:\s+(?:simply|briefly|quickly))?(?=\W*$))\b.*$"
)
# The field named first says where the question is asked ("in dl what is an ae", "in machine
# learning, what does cv mean")
_QUALIFIER_OPENING = re.compile(r"^" + _FIELD + r"\b\s*[,:;\-\u2013\u2014]*\s+(?=\S)")
# The same qualifier closing the question, with nothing after it but "please" and punctuation
_QUALIFIER_CLOSING = re.compile(_QUALIFIER.pattern.removesuffix(r"\b.*$") + r"\b[\s,.!?]*(?:(?:please|pls|plz)\W*)?$")
# "better than" compares two things, not one thing with a quantity or a baseline ("better than
# each one alone", "better than guessing")
_COMPARE = re.compile(r"\b(?:vs\.?|versus|diff\w*|compare[sd]?|comparison|or"
                      r"|better than(?!\s+(?:any|each|every|all|either|guess\w*|chance|a coin|one (?:alone|model|of them)"
                      r"|random(?:ly)? (?:guess\w*|chance|baseline))\b))\b")  # "diff", "differnce"
# A question asking for a means to an end ("how do i minimize a loss function?", "what should i use
# instead?", "what controls its step size?", "... what do i do?"): an entry it names is what is
# worked on, not the answer. The same in the second or third person ("how do you find good values
# for them", "what do people use to minimise it", "the thing that controls how big its steps
# are"); not asking what a thing is used for ("what do people use pca for") or how to read it ("how
# do you read a dendrogram").
_TASK = re.compile(
    r"\b(?:how (?:do|can|should|could|would) (?:i|we)|how to|(?:should|can|could) (?:i|we) use|instead|alternatives?"
    r"|what (?:fixes|helps|prevents|solves|controls|sets|determines|decides|reduces|can help)|what (?:do|should|can|could) (?:i|we) do"
    r"|which (?:parameters?|settings?|methods?|techniques?|algorithms?|architectures?|models?)"
    r"|how (?:do|can|should|could|would) (?:you|one|people)(?! (?:read|interpret|understand|pronounce|say|spell)\b)"
    r"|what (?:do|should|can|could) (?:you|people) use(?!\b.*\bfor\W*$)"
    r"|(?:the|what) (?:thing|one) that (?:controls|sets|determines|decides|scales))\b"
)
_DESCRIBED = (r"the (?!(?:first|1st|second|2nd|third|last|same|right|best|former|latter|main|only|above|previous|current"
              r"|mentioned|original|earlier|other|whole|this|that)\b)[a-z][\w-]*(?: [a-z][\w-]*)? one")
_SIBLING = re.compile(
    r"\b(?:instead|alternatives?|the other(?: one)?|another one|the opposite|opposite one|the one (?:where|that|with|which|for)"
    r"|which one of (?:those|these|them)|which of (?:those|these|them)|is there (?:one|a method|an? algorithm) (?:that|which|where)"
    r"|another (?:kind|type|sort|method|algorithm|network|model|technique)"
    # "the density based one", "the nonlinear one": named by what sets it apart (not "the first one")
    r"|" + _DESCRIBED + r")\b"
)
_DESCRIBED_ONE = re.compile(_DESCRIBED)
# "how does smote work?", "why is logistic regression ...": the thing asked about comes right after
# the verb (past a determiner or a single letter, "k nearest neighbors"); also "what does X ...",
# and the yes/no "is X ...?", "does X ...?".
_ASKED_ABOUT = re.compile(
    r"^" + _FILLERS + r"(?:(?:how|why)\s+(?:does|do|is|are|did|was|were)|what\s+(?:does|do)|is|are|does|do)\s+"
    r"(?:(?:a|an|the|this|that|these|those|every|each|all|any|some|such|both)\s+)?(?:(?P<letter>[b-hj-z])\s+)?(?P<word>[a-z][\w-]+)"
)
# Who is asking or doing, not what is asked about ("why do researchers hold out a validation set").
_PEOPLE = frozenset("people researchers students engineers practitioners scientists experts folks companies teams anyone "
                    "everyone someone somebody everybody anybody".split())
# "that" stands for something only right after a verb and before no clause ("why does that help?",
# "is that used ..."); elsewhere it is a conjunction or a relative pronoun ("a model that overfits",
# "the problem is that the model memorizes"). "ones" only after a word that picks among them
# ("common ones", "which ones") or at the end.
_THAT = (r"(?:(?:(?<=\bdoes )|(?<=\bis )|(?<=\bwas )|(?<=\bdid )|(?<=\bmakes )|(?<=\bwould )|(?<=\bdo )|(?<=\bdoing )"
         r"|(?<=\bcombine )|(?<=\blike )|(?<=\bof ))that(?!\s+(?:the|a|an|my|we|you|i|it|they|there|our|your|this|its|their)\b)"
         r"|that(?=\s+(?:type|kind|sort)\b)|that(?=\W*$))")
_ONES = r"(?:(?<=\bwhich )|(?<=\bcommon )|(?<=\bother )|(?<=\bsome )|(?<=\bfew )|(?<=\bmain )|(?<=\bpopular )|(?<=\busual )|(?<=\bbest ))ones|ones(?=\W*$)"
_PRONOUNS = re.compile(r"(?i)\b(?:it|its|it's|they|them|their|theirs|this|these|those|that one|the (?:first|1st|second|2nd) one"
                       r"|that technique|that method|that algorithm|that model|the former|the latter|" + _ONES + "|" + _THAT
                       + r"|the (?:name|acronym|abbreviation)(?= (?:stands? for|means?|comes? from)\b))\b")  # "what does the name stand for"
_PERSONAL = re.compile(r"\b(?:it|its|it's|they|them|their|theirs)\b")  # never a determiner, unlike "this"
_PERSONAL_OR_THIS = re.compile(r"\b(?:it|its|it's|they|them|this one|this)\b")
_CONTINUES = re.compile(r"^(?:(?:ok|okay|right|alright|hmm)[\s,]+)?(?:and|also|so|but|then|plus|what about|how about)\b")
_ELLIPSIS = re.compile(r"^(?:and|also|but|so|what about|how about|why|how come|example|examples|any examples|more)\b")


@dataclass
class Question:
    text: str  # cleaned, what is shown back to the user
    note: str | None = None  # e.g. "cut to 1,000 characters"


def clean(raw: str | bytes | None) -> Question:
    """Normalize a question; never raises. Empty results are left empty for the caller to refuse."""
    if raw is None:
        return Question("")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    text = _SURROGATE.sub("\ufffd", str(raw))  # lone surrogates (valid in JSON, not in UTF-8)
    text = unicodedata.normalize("NFC", html.unescape(text))  # "&amp;", "&lt;b&gt;" from a web page or an API caller
    text = _CONTROL.sub(" ", text)
    note = None
    if len(text) > MAX_QUESTION_CHARS:
        text = text[:MAX_QUESTION_CHARS]
        note = f"Your question was cut to its first {MAX_QUESTION_CHARS:,} characters."
    text = _CODE.sub(" ", text)  # a script or style block is code, not words of the question
    text = _TAGS.sub(" ", text)  # HTML tags carry no meaning for a glossary question
    text = " ".join(text.split())
    return Question(text, note)


# A subject that is only a word for a name ("the name", "the general term for ...", after the
# qualifier went): the question asks what something is called.
_A_NAME = re.compile(r"^(?:(?:general|umbrella|technical|proper|official|correct|right|actual|usual)\s+)?(?:name|term|word)s?$")
_CLAUSE = re.compile(r"[,;:.!?]\s+|\s+[-–—]+\s+")
_POINTERS = frozenset("that it this those these they them".split())


def _plain(text: str) -> str:
    """Casefolded, spaced once, without a qualifier and what follows it, as definition requests are read."""
    return _QUALIFIER.sub("", _QUALIFIER_OPENING.sub("", " ".join(text.casefold().split())))


def unqualified(text: str) -> str:
    """The question without a closing qualifier saying how to explain it ("pca in plain english"
    -> "pca"; "hyperparameter in short, how do i tune them" keeps what follows the qualifier)."""
    return _QUALIFIER_CLOSING.sub("", _QUALIFIER_OPENING.sub("", " ".join(text.casefold().split())))


def define_subject(text: str) -> str | None:
    """'what is an LSTM?' -> 'lstm'; None when the question is not a plain definition request."""
    return _subject(_plain(text))  # "what does X mean in machine learning?"


# A question that is only a short phrase ("relu?", "xgboost", "l2 regularization"): what it is, is asked.
_BARE = re.compile(r"^[^\W\d_][\w\-]*(?:\s+[\w\-]+){0,2}$")
_NOT_BARE = frozenset("""what whats how why when where who which is are was does do did can could should would will
    it its this that these those they them and or vs versus not no yes more examples example other another same""".split())


def bare_phrase(text: str) -> str | None:
    """'relu?' -> 'relu': a question of one to three words, none a question word, verb of asking,
    pronoun or conjunction ("examples?", "and it?" lean on a conversation); else None."""
    phrase = " ".join(text.casefold().split()).strip(" ?.!")
    if not _BARE.match(phrase) or _NOT_BARE.intersection(phrase.split()):
        return None
    return phrase


def asks_about_the(text: str) -> bool:
    """Whether a definition request's subject is "the X" ("what are the gates for?", "what are
    the two parts called?"): in a conversation, most often a part of what was being discussed."""
    match = _definition(_plain(text))
    return bool(match and match.groupdict().get("the"))


def closing_subject(text: str) -> str | None:
    """The subject of a definition request closing a longer question: 'config has LR=3e-4, what
    does LR mean' -> 'lr'; 'prof keeps saying DRL, what's that' -> 'that' (see `points_back`).
    Only a name said before it can make it one (answer.py): "..., what's that called" is no
    definition request."""
    parts = _CLAUSE.split(" ".join(text.casefold().split()).rstrip(" ?.!"))
    return _subject(_QUALIFIER.sub("", parts[-1])) if len(parts) > 1 else None


def _definition(text: str) -> re.Match | None:
    """The definition-request pattern the (normalised) text matches, if any."""
    return _DEFINE_EMBEDDED.match(text) or _DEFINE_DOES.match(text) or _DEFINE.match(text) or _DEFINE_AFTER.match(text)


# What "what is" leaves before the subject of "what is meant by (the term) X" and "what is the
# meaning (definition) of X"
_LABEL = r"(?:term|phrase|expression|acronym|abbreviation)\s+(?!for\b|of\b|that\b|which\b|used\b)(?=\S)"  # not "word": "word embedding"
_MEANT = re.compile(r"^(?:meant by|(?:the )?(?:meaning|definition) of)\s+(?:the\s+" + _LABEL + r"|(?:the|an?)\s+)?")
_THE_TERM = re.compile(r"^" + _LABEL)


def _subject(text: str) -> str | None:
    match = _definition(text)
    if not match:
        return None
    # the subject ends at a comma, a semicolon, another question ("whats HPO? my supervisor said
    # to do HPO") or a sentence's end
    subject = re.split(r",|;|\?|(?<=\w\w)[.!](?=\s)| and (?:how|why|what|when|where)\b", match.group("subject"))[0]
    meant = _MEANT.sub("", subject)  # "what is meant by the term X", "what is the meaning of X"
    if meant == subject and match.groupdict().get("the"):
        meant = _THE_TERM.sub("", subject)  # "what does the term X mean"
    subject = meant
    subject = _QUALIFIER.sub("", subject).strip(" ?.!'\"‘’“”")
    if _A_NAME.match(subject):
        return None  # "what's the name for ML that stacks layers": asks for a name, not what "name" is
    return subject or None


# "what is X and how/why ...", "what is X? how ...": a definition request going on to ask more
_BEYOND = re.compile(r"(?: and|[,;?](?:\s*and)?)\s+(?:how|why|when|where|who)\b")  # "and what is Y" asks another definition


def asks_beyond(text: str) -> bool:
    """Whether a definition request goes on to ask more about its subject ("what is early
    stopping and how do i pick the patience value?"); "what are sigmoid, tanh and relu?" does not."""
    match = _definition(_plain(text))
    return bool(match and _BEYOND.search(match.group("subject")))


# A formula asked for ("what's the formula for mse", "write out the update equations", "derive
# the gradient", "the math behind it"; in a short question also "softmax formula pls"), not one
# named in passing ("how do i encode a chemical formula", "derive new features") or a name asked
# for ("what's the formula that scores my errors called?")
_MATH_WORD = r"(?:formulas?|formulae|equations?|derivatives?|gradients?|updates?|update rules?|math|maths|derivation)"
_MATH = re.compile(
    r"\b(?:formulas?|formulae|equations?)\s+(?:for|of|behind)\b|\bwhat(?:'s|s| is| are) the (?:\w+ )?(?:formulas?|formulae|equations?)\b"
    r"|\bwrite (?:out|down) (?:the|its) (?:\w+ )?" + _MATH_WORD + r"\b|\bderivation of\b"
    r"|\bderive (?:it|this|that|them|(?:the|its) (?:\w+ )?" + _MATH_WORD + r")\b|\bmath(?:s|ematics)? (?:behind|of)\b|\bmathematically\b"
)
_MATH_CLOSING = re.compile(r"\b(?:formulas?|formulae|equations?)\W*(?:(?:pls|please|plz)\W*)?$")
_NAMING = re.compile(r"\b(?:called|named|name (?:for|of)|term for)\b")


def asks_for_math(text: str) -> bool:
    """Whether a question asks for a formula or a derivation."""
    text = " ".join(text.casefold().split())
    asked = _MATH.search(text) or (_MATH_CLOSING.search(text) and len(text.split()) <= 4)
    return bool(asked) and not _NAMING.search(text)


# "who invented it?", "when was dropout introduced?", "in what year ...": a person or a date
_HISTORY = re.compile(
    r"\bwho (?:first )?(?:invented|created|came up with|developed|proposed|introduced|discovered|coined)\b"
    r"|\bwhen (?:was|were|did) (?:\S+ ){1,5}?(?:first )?(?:invent|propos|discover|coin)\w*"
    r"|\bwhen (?:was|were) (?:\S+ ){1,4}?(?:introduced|created|developed)\W*$"  # "when was dropout introduced?"
    r"|\b(?:in )?(?:what|which) (?:year|decade|century) (?:was|were|did)\b"
)


# Openings that say a turn is about something new. Not "another question" or "new question":
# those most often bring one more question on the same topic ("another question: why is it used?").
_NEW_TOPIC = re.compile(
    r"^(?:(?:ok|okay|thanks|thank you|thx|ty|cheers|cool|great|nice|got it|alright|right|so|hey|btw)\b[\s,.!]*)*"
    r"(?:(?:on\s+)?(?:a|an|one|another)?\s*(?:(?:totally|completely|entirely|slightly|somewhat)\s+)?"
    r"(?:(?:different|unrelated|separate)\s+(?:topic|question|subject)|(?:new|another)\s+(?:topic|subject))"
    r"|on\s+(?:a|an)\s+(?:different|unrelated|separate|other)\s+note"
    r"|switching\s+(?:gears|topics?)|chang(?:e|ing)\s+(?:of\s+)?(?:the\s+)?(?:topic|subject))"
    r"(?:\s+now)?(?:\s*[:;,.!?\-\u2013\u2014]+\s*(?:but\s+)?|\s+but\s+)(?!\s*(?:but\s+)?(?:closely\s+)?related\b)",
    re.IGNORECASE,
)


def new_topic(text: str) -> str | None:
    """The question after an opening that says it is about something new ("thanks! different
    topic: what's a loss function?", "on a different note, ..."), "" when nothing follows the
    opening; None when the text opens with no such words (or with "..., but related: ...")."""
    found = _NEW_TOPIC.match(text)  # on the text itself: casefolding may change its length ("ﬀ")
    if found is None:
        return None
    rest = text[found.end():].strip()
    return rest if any(ch.isalnum() for ch in rest) else ""


def asks_history(text: str) -> bool:
    """Whether the question asks who made something or when ("who invented it and in what year")."""
    return bool(_HISTORY.search(text.casefold()))


def points_back(subject: str | None) -> bool:
    """Whether a definition request's subject only points back at something named before it."""
    return subject is not None and subject in _POINTERS


def has_compare_cue(text: str) -> bool:
    return bool(_COMPARE.search(text.casefold()))


def asked_about(text: str) -> str | None:
    """The first word of what a "how does X ...?", "why is X ...?", "what does X ...?", "is X ...?"
    or "does X ...?" question is about, if it says so right after the verb; None for the asker
    ("how do i ...", "why do researchers ..."); a stopword ("my", "there") is no thing either."""
    match = _ASKED_ABOUT.match(text.casefold())
    word = match.group("word") if match else None
    return None if word in _PEOPLE else word


def asked_about_phrase(text: str) -> str | None:
    """The rest of the question from what `asked_about` finds, with a single letter before it:
    'how does k nearest neighbors classify a point' -> 'k nearest neighbors classify a point'."""
    text = text.casefold()
    match = _ASKED_ABOUT.match(text)
    if match is None or match.group("word") in _PEOPLE:
        return None
    return text[match.start("letter") if match.group("letter") else match.start("word") :]


# "why not just use one train/test split instead of that?" asks why the topic is needed, not for
# another entry; so does "why would i use it instead of a single split?", the topic put first
_CHALLENGE = re.compile(r"^why (?:not|do|would|should|can'?t|don'?t|wouldn'?t|shouldn'?t)\b.*\binstead of (?:that|it|this|those|these|them)\b"
                        r"|^(?:why|when|how come)\b.*\b(?:it|that|this|them|these|those)\s+instead of\b")


def asks_for_sibling(text: str) -> bool:
    """Whether a follow-up asks for another entry than the one discussed ("and the one where the
    models are trained one after another?", "the opposite, with no labels?", "what can i use
    instead of it?"); not "why not just use one train/test split instead of that?"."""
    text = text.casefold()
    cues = [m.group(0) for m in _SIBLING.finditer(text)]
    if not cues or _CHALLENGE.search(text):
        return False
    # "how is this one different from the linear one?" compares the topic with another: asked
    # only by "the <what sets it apart> one" beside the topic's own pronoun and a comparison
    only_described = all(_DESCRIBED_ONE.fullmatch(c) for c in cues)
    return not (only_described and _COMPARE.search(text) and _PERSONAL_OR_THIS.search(_SIBLING.sub(" ", text)))


_OPPOSITE = re.compile(r"\b(?:opposite|contrary|reverse)\b")


def asks_for_opposite(text: str) -> bool:
    """Whether a follow-up asks for the opposite of the topic ("ok whats the opposite problem called")."""
    return bool(_OPPOSITE.search(text.casefold()))


_OPPOSITE_OF = re.compile(r"^" + _FILLERS + r"(?:(?:what|which)(?:'s|s| is| are)\s+|(?:and\s+)?)?(?:the\s+)?(?:opposite|contrary|reverse) of (?:an? |the )?")


def opposite_of(text: str) -> str | None:
    """What a question asking only for the opposite of a thing names: "what's the opposite of
    overfitting?" -> "overfitting?"; None for "how do i fix overfitting, the opposite of ..." or
    "steps opposite to the gradient"."""
    match = _OPPOSITE_OF.match(" ".join(text.casefold().split()))
    return match.string[match.end():] if match else None


def asks_for_means(text: str) -> bool:
    return bool(_TASK.search(text.casefold()))


def has_pronoun(text: str) -> bool:
    return bool(_PRONOUNS.search(text.casefold()))


# "tell me more about the second one", "and the latter?": the second of two things just answered
_SECOND = re.compile(r"\bthe (?:second|2nd) one\b|\bthe latter\b")
_ORDINAL = re.compile(r"\bthe (?:first|1st|second|2nd) one\b|\bthe (?:former|latter)\b")


def points_to_second(text: str) -> bool:
    """Whether a follow-up points at the second of the entries the last answer cited."""
    return bool(_SECOND.search(text.casefold()))


def points_to_listed(text: str) -> bool:
    """Whether a follow-up points at one of the things just answered by its place ("the former",
    "the second one"), as a pronoun does."""
    return bool(_ORDINAL.search(text.casefold()))


def has_personal_pronoun(text: str) -> bool:
    return bool(_PERSONAL.search(text.casefold()))


# An "it" that stands for nothing said before: "what's it called when ...", "is it true that ..."
_DUMMY_IT = re.compile(r"\b(?:(?:what(?:'s|s| is)|is|was) it|it(?:'s| is))\s+(?:called|named|known as|true|possible|worth|better|normal|common)\b")


def refers_back(text: str) -> bool:
    """Whether an "it" or "they" in the text may stand for something said before: not the "it" of
    "what's it called when ..." or "is it true that ..."."""
    return has_personal_pronoun(_DUMMY_IT.sub(" ", text.casefold()))


# "combine it with deep learning", "plug deep neural nets into it": the pronoun is the other thing
# joined to the one named, so it stands for the conversation's topic even beside a new name.
_JOINS = re.compile(
    r"\b(?:combin|mix|merg|pair|plug|add|put|feed|appl|attach|bolt)\w*\b[^.?!]*?\b(?:with|into|to|onto)\s+(?:it|that|this|them)\b"
    r"|\b(?:combin|mix|merg|pair)\w*\s+(?:it|that|this|them)\s+(?:with|and)\b"
)


def joins_topic(text: str) -> bool:
    """Whether the question joins a pronoun to something it names ("what happens when you combine
    it with deep neural nets?")."""
    return bool(_JOINS.search(text.casefold()))


def continues(text: str) -> bool:
    """Whether the question opens as a continuation of the conversation ("and ...", "so ...",
    "what about ...")."""
    return bool(_CONTINUES.match(text.casefold()))


def is_elliptical(text: str, word_count: int) -> bool:
    return bool(_ELLIPSIS.match(text.casefold())) or word_count <= 2


# "early stopping: how does it decide when to stop?": a thing named first, then asked about as "it"
_TOPIC_FIRST = re.compile(r"^\s*(?P<thing>[^\W\d_][\w\-]*(?:\s+[\w\-]+){0,3})\s*(?::|\s[\-\u2013\u2014])\s*(?P<rest>\S.*)$")


def topic_first(text: str) -> tuple[str, str] | None:
    """('early stopping', 'how does it decide when to stop?') for "early stopping: how does it
    decide when to stop?"; None unless a short phrase, no question word or pronoun in it, comes
    first and what follows speaks of it with a pronoun."""
    match = _TOPIC_FIRST.match(text)
    if match is None:
        return None
    thing, rest = match.group("thing"), match.group("rest")
    if _NOT_BARE.intersection(thing.casefold().split()) or not has_pronoun(rest):
        return None
    return thing, rest


def substitute(text: str, term: str) -> str:
    """Replace the first pronoun with the term ('what problem does it solve?' -> 'what problem
    does Long Short-Term Memory (LSTM) solve?'); with no pronoun, say what the question is about."""
    def repl(match: re.Match) -> str:
        word = match.group(0).casefold()
        if word in ("its", "their", "theirs"):
            return f"{term}'s"
        if word == "it's":
            return f"{term} is"
        return term

    replaced, count = _PRONOUNS.subn(repl, text, count=1)
    return replaced if count else f"{text.rstrip(' ?')} (about {term})?"
