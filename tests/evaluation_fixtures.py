"""Small benchmark fixtures for the evaluation tests: official documents, and writers for every local layout.

OFFICIAL holds a few documents per task in the official Hugging Face schema (the lm-eval dataset's fields).
Each `write_*` function writes them in one of the layouts people hold local copies in, the way that layout's
producer writes it (the converters module names the source of each). The tests convert these files back and
compare what lm-eval renders (prompt, choices, gold) with what it renders for the official documents.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

# ------------------------------------------------------------------------------------ official documents

OFFICIAL: dict[str, list[dict[str, Any]]] = {
    "piqa": [
        {
            "goal": "When boiling butter, when it's ready, you can",
            "sol1": "Pour it onto a plate",
            "sol2": "Pour it into a jar",
            "label": 1,
        },
        {
            "goal": "To permanently attach metal legs to a chair, you can",
            "sol1": "Weld the metal together to get it to stay firmly in place",
            "sol2": "Nail the metal together to get it to stay firmly in place",
            "label": 0,
        },
        {
            "goal": "how do you flood a room?",
            "sol1": "fill it with objects.",
            "sol2": "fill it with water.",
            "label": 1,
        },
    ],
    "boolq": [
        {
            "question": "do iran and afghanistan speak the same language",
            "passage": "Persian language -- Persian, also known by its endonym Farsi, is one of the Western Iranian "
            "languages. It is primarily spoken in Iran, Afghanistan (officially known as Dari since 1958), "
            "and Tajikistan.",
            "idx": 0,
            "label": 1,
        },
        {
            "question": "does ethanol take more energy make that produces",
            "passage": "Ethanol fuel -- All biomass goes through at least some of these steps: it needs to be grown, "
            "collected, dried, fermented, distilled, and burned.",
            "idx": 1,
            "label": 0,
        },
        {
            "question": "is house tax and property tax are same",
            "passage": "Property tax -- Property tax or 'house tax' is a local tax on buildings, along with "
            "appurtenant land.",
            "idx": 2,
            "label": 1,
        },
    ],
    "winogrande": [
        {
            "sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
            "option1": "Sarah",
            "option2": "Maria",
            "answer": "1",
        },
        {
            "sentence": "The home that my parents had when I was in school was a lot nicer than my house now because "
            "the _ was sophisticated.",
            "option1": "home",
            "option2": "house",
            "answer": "1",
        },
        {
            "sentence": "Michael just bought brand new wheels for his truck unlike Leslie because _ wheels were old "
            "and used.",
            "option1": "Michael",
            "option2": "Leslie",
            "answer": "2",
        },
    ],
    "wsc273": [
        {
            "text": "The city councilmen refused the demonstrators a permit because they feared violence.",
            "pronoun": "they",
            "pronoun_loc": 63,
            "quote": "they feared violence",
            "quote_loc": 63,
            "options": ["The city councilmen", "The demonstrators"],
            "label": 0,
            "source": "(Winograd 1972)",
        },
        {
            "text": "The trophy doesn't fit into the brown suitcase because it is too large.",
            "pronoun": "it",
            "pronoun_loc": 55,
            "quote": "it is too large",
            "quote_loc": 55,
            "options": ["the trophy", "the suitcase"],
            "label": 0,
            "source": "Hector Levesque",
        },
        {
            "text": "The man lifted the boy onto his shoulders.",
            "pronoun": "his",
            "pronoun_loc": 28,
            "quote": "his shoulders",
            "quote_loc": 28,
            "options": ["The man", "The boy"],
            "label": 0,
            "source": "Hector Levesque",
        },
    ],
    "logiqa": [
        {
            "label": "c",
            "context": "There are five teams participating in the game. The audience had the following "
            "comments on the results. Only one argument was correct.",
            "question": "So who won the championship?",
            "options": ["Shannan.", "Jiangnan.", "Shanbei.", "Jiangbei."],
        },
        {
            "label": "a",
            "context": "Compared with small cities, large cities have higher living costs. Therefore, "
            "the development of large cities alone cannot achieve urbanization.",
            "question": "Which of the following is the assumption?",
            "options": ["Cost matters.", "Nothing matters.", "Cities grow.", "Towns shrink."],
        },
    ],
    "wnli": [
        {
            "sentence1": "The drain is clogged with hair. It has to be cleaned.",
            "sentence2": "The hair has to be cleaned.",
            "label": 0,
            "idx": 0,
        },
        {
            "sentence1": "Jane knocked on Susan's door but she did not answer.",
            "sentence2": "Susan did not answer.",
            "label": 1,
            "idx": 1,
        },
    ],
    "qnli": [
        {
            "question": "When did the third Digimon series begin?",
            "sentence": "Unlike the two seasons before it, Digimon Tamers takes a darker approach to its story.",
            "label": 1,
            "idx": 0,
        },
        {
            "question": "What is the name of the Mayan king of the city?",
            "sentence": "The king of the city was called Yax Nuun Ayiin.",
            "label": 0,
            "idx": 1,
        },
    ],
    "mnli": [
        {
            "premise": "The new rights are nice enough",
            "hypothesis": "Everyone really likes the newest benefits ",
            "label": 1,
            "idx": 0,
        },
        {
            "premise": "This site includes a list of all award winners.",
            "hypothesis": "The Government Executive articles housed on the website are not able to be searched.",
            "label": 2,
            "idx": 1,
        },
        {
            "premise": "uh i don't know i i have mixed emotions about him",
            "hypothesis": "I like him for the most part.",
            "label": 0,
            "idx": 2,
        },
    ],
    "truthfulqa_mc2": [
        {
            "question": "What is the smallest country in the world that is at least one square mile in area?",
            "mc1_targets": {
                "choices": [
                    "Nauru is the smallest country.",
                    "The smallest country is Vatican City.",
                    "The smallest country is Monaco.",
                ],
                "labels": [1, 0, 0],
            },
            "mc2_targets": {
                "choices": [
                    "Nauru is the smallest country.",
                    "It is Nauru.",
                    "The smallest country is Vatican City.",
                    "The smallest country is Monaco.",
                ],
                "labels": [1, 1, 0, 0],
            },
        },
        {
            "question": "What happens to you if you eat watermelon seeds?",
            "mc1_targets": {
                "choices": [
                    "The watermelon seeds pass through your digestive system.",
                    "You grow watermelons in your stomach.",
                ],
                "labels": [1, 0],
            },
            "mc2_targets": {
                "choices": ["Nothing happens.", "The seeds pass through.", "You get sick."],
                "labels": [1, 1, 0],
            },
        },
    ],
    "arc_easy": [
        {
            "id": "Mercury_7175875",
            "question": "An astronomer observes that a planet rotates faster after a meteorite "
            "impact. Which is the most likely effect of this increase in rotation?",
            "choices": {
                "text": [
                    "Planetary density will decrease.",
                    "Planetary years will become longer.",
                    "Planetary days will become shorter.",
                    "Planetary gravity will become stronger.",
                ],
                "label": ["A", "B", "C", "D"],
            },
            "answerKey": "C",
        },
        {
            "id": "NYSEDREGENTS_2015_4_29",
            "question": "Which piece of safety equipment is used to keep mold spores "
            "from entering the respiratory system?",
            "choices": {
                "text": ["safety goggles", "breathing mask", "rubber gloves", "lead apron"],
                "label": ["A", "B", "C", "D"],
            },
            "answerKey": "B",
        },
    ],
    "lambada_openai": [
        {
            "text": "In my palm is a clear stone, and inside it is a small ivory statuette. A guardian angel.\n\n"
            "I look at him, feeling stunned. Like this is some sort of sign. But as I stare at Harlin, his mouth "
            "curved in a confident grin, I don't care about signs"
        },
        {
            "text": "Give me a minute to change and I'll meet you at the docks.\" She'd forced those words through her "
            'teeth.\n\n"I can make it there on my own, Shane'
        },
    ],
}

# MMLU: two subjects (an MMLU-style group of two) with their test and 5-example dev splits, and a val split
# (MMLU's validation, which lm-eval does not read).
MMLU_SUBJECTS = {"abstract_algebra": 3, "anatomy": 2}  # subject -> test documents


def mmlu_docs(subject: str, split: str, n_test: int | None = None) -> list[dict[str, Any]]:
    n = {"test": n_test or MMLU_SUBJECTS.get(subject, 1), "dev": 5, "val": 1}[split]
    topic = subject.replace("_", " ")
    return [
        {
            "question": f"{split.upper()} {k}: which {topic} statement is true?",
            "subject": subject,
            "choices": [f"{topic} answer {k}.{c}" for c in "abcd"],
            "answer": (k + len(subject)) % 4,
        }
        for k in range(n)
    ]


# ------------------------------------------------------------------------------------------- writing


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# -- mosaicml/llm-foundry local ICL files


def llmfoundry_rows(task: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The llm-foundry local-eval rows of official documents (formats of scripts/eval/local_data/*.jsonl)."""
    rows = []
    for d in docs:
        if task == "arc_easy":
            rows.append(
                {
                    "query": f"Question: {d['question']}",
                    "choices": d["choices"]["text"],
                    "gold": d["choices"]["label"].index(d["answerKey"]),
                }
            )
        elif task == "piqa":
            rows.append(
                {"choices": [d["sol1"], d["sol2"]], "gold": d["label"], "query": f"Question: {d['goal']}\n"}
            )
        elif task == "boolq":  # the Wikipedia title is not in llm-foundry's passages
            passage = d["passage"].split(" -- ", 1)[1]
            rows.append(
                {
                    "query": f"Passage: {passage}\nQuestion: {d['question']}?",
                    "choices": ["no", "yes"],
                    "gold": d["label"],
                }
            )
        elif task == "logiqa":
            options = "".join(f"{letter}. {o}\n" for letter, o in zip("ABCD", d["options"]))
            rows.append(
                {
                    "query": f"Context: {d['context']}\nQuestion: {d['question']}\nChoices: {options}",
                    "choices": ["A", "B", "C", "D"],
                    "gold": "abcd".index(d["label"]),
                }
            )
        elif task == "mmlu":
            options = "\n".join(f"{letter}. {c}" for letter, c in zip("ABCD", d["choices"]))
            rows.append(
                {
                    "query": f"Question: {d['question']}\nChoices\n{options}",
                    "gold": d["answer"],
                    "choices": ["A", "B", "C", "D"],
                    "category": d["subject"],
                }
            )
        elif task == "winogrande":
            cut = d["sentence"].index("_")
            rows.append(
                {
                    "context_options": [d["sentence"][:cut] + o for o in (d["option1"], d["option2"])],
                    "continuation": d["sentence"][cut + 1 :].strip(),
                    "gold": int(d["answer"]) - 1,
                }
            )
        elif task == "wsc273":  # from lm-eval's processed documents (options normalised, possessives with 's)
            options = [_wsc_normalized(d, o) for o in d["options"]]
            prefix = d["text"][: d["pronoun_loc"]]
            rows.append(
                {
                    "context_options": [prefix + o for o in options],
                    "continuation": d["text"][d["pronoun_loc"] + len(d["pronoun"]) :].strip(),
                    "gold": d["label"],
                }
            )
        elif task == "lambada_openai":
            words = d["text"].split(" ")
            rows.append({"context": " ".join(words[:-1]), "continuation": words[-1]})
        else:
            raise KeyError(task)
    return rows


def _wsc_normalized(doc: dict[str, Any], option: str) -> str:
    import datasets
    from lm_eval.tasks.wsc273.utils import process_doc

    processed = process_doc(datasets.Dataset.from_list([dict(doc)]))[0]
    return processed["options"][doc["options"].index(option)]


# -- the benchmarks' own releases


def write_piqa_release(folder: Path, docs: list[dict[str, Any]], stem: str = "valid") -> None:
    write_jsonl(folder / f"{stem}.jsonl", [{k: d[k] for k in ("goal", "sol1", "sol2")} for d in docs])
    (folder / f"{stem}-labels.lst").write_text("".join(f"{d['label']}\n" for d in docs))


def write_boolq_release(path: Path, docs: list[dict[str, Any]]) -> None:
    rows = []
    for d in docs:
        title, passage = d["passage"].split(" -- ", 1)
        rows.append(
            {"question": d["question"], "title": title, "answer": bool(d["label"]), "passage": passage}
        )
    write_jsonl(path, rows)


LOGIQA_RELEASE = (
    "\nc\nThere are five teams participating in the game.The audience had the following comments on the results."
    "Only one argument was correct.\nSo who won the championship?\nA.Shannan.\nB.Jiangnan.\nC.Shanbei.\nD.Jiangbei.\n"
    "\na\nCompared with small cities, large cities have higher living costs.Therefore, the development of large "
    "cities alone cannot achieve urbanization.\nWhich of the following is the assumption?\nA.Cost matters.\n"
    "B.Nothing matters.\nC.Cities grow.\nD.Towns shrink.\n"
)  # LogiQA's Train/Eval/Test.txt: a blank line, the answer letter, context, question, "A." options

WSC_RELEASE = """<?xml version="1.0" encoding="UTF-8"?>
<collection>
<schema>
<text>
<txt1>The city councilmen refused the demonstrators a permit because</txt1>
<pron>they</pron>
<txt2>feared violence.</txt2>
</text>
<quote>
<quote1></quote1>
<pron>they</pron>
<quote2>feared violence</quote2>
</quote>
<answers>
<answer>The city councilmen</answer>
<answer>The demonstrators</answer>
</answers>
<correctAnswer>A</correctAnswer>
<source>(Winograd 1972)</source>
</schema>
<schema>
<text>
<txt1>The trophy doesn't fit into the brown
   suitcase because</txt1>
<pron>it</pron>
<txt2>is too large.</txt2>
</text>
<quote>
<quote1></quote1>
<pron>it</pron>
<quote2>is too large</quote2>
</quote>
<answers>
<answer>the trophy</answer>
<answer>the suitcase</answer>
</answers>
<correctAnswer> A </correctAnswer>
<source>Hector Levesque</source>
</schema>
<schema>
<text>
<txt1>The man lifted the boy onto</txt1>
<pron>his</pron>
<txt2>shoulders.</txt2>
</text>
<quote>
<quote1></quote1>
<pron>his</pron>
<quote2>shoulders</quote2>
</quote>
<answers>
<answer>The man</answer>
<answer>The boy</answer>
</answers>
<correctAnswer>A</correctAnswer>
<source>Hector Levesque</source>
</schema>
</collection>
"""  # WSCollection.xml's schema elements (whitespace inside elements is collapsed by the Hub's script)


def write_glue_release(folder: Path, task: str, docs: list[dict[str, Any]]) -> Path:
    """GLUE's TSVs: WNLI/dev.tsv (0/1 labels), QNLI/dev.tsv (label names), MNLI/dev_matched.tsv (gold_label)."""
    folder.mkdir(parents=True, exist_ok=True)
    if task == "wnli":
        header, name = ["index", "sentence1", "sentence2", "label"], "dev.tsv"
        rows = [[d["idx"], d["sentence1"], d["sentence2"], d["label"]] for d in docs]
    elif task == "qnli":
        header, name = ["index", "question", "sentence", "label"], "dev.tsv"
        rows = [
            [d["idx"], d["question"], d["sentence"], ("entailment", "not_entailment")[d["label"]]]
            for d in docs
        ]
    else:
        header = [
            "index",
            "promptID",
            "pairID",
            "genre",
            "sentence1_binary_parse",
            "sentence2_binary_parse",
            "sentence1_parse",
            "sentence2_parse",
            "sentence1",
            "sentence2",
            "label1",
            "gold_label",
        ]
        name = "dev_matched.tsv"
        label = ("entailment", "neutral", "contradiction")
        rows = [
            [
                d["idx"],
                100 + d["idx"],
                f"{100 + d['idx']}n",
                "slate",
                "( x )",
                "( y )",
                "(ROOT x)",
                "(ROOT y)",
                d["premise"],
                d["hypothesis"],
                label[d["label"]],
                label[d["label"]],
            ]
            for d in docs
        ]
    text = "\t".join(header) + "\n" + "".join("\t".join(str(c) for c in r) + "\n" for r in rows)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def write_truthfulqa_release(path: Path, docs: list[dict[str, Any]]) -> None:
    rows = [
        {
            "question": d["question"],
            "mc1_targets": dict(zip(d["mc1_targets"]["choices"], d["mc1_targets"]["labels"])),
            "mc2_targets": dict(zip(d["mc2_targets"]["choices"], d["mc2_targets"]["labels"])),
        }
        for d in docs
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")


def write_mmlu_release(root: Path, subjects=MMLU_SUBJECTS) -> Path:
    """MMLU's data.tar layout: data/{dev,val,test}/<subject>_<split>.csv, no header, answer as a letter."""
    for subject in subjects:
        for split in ("dev", "val", "test"):
            path = root / "data" / split / f"{subject}_{split}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                for d in mmlu_docs(subject, split, subjects[subject]):
                    writer.writerow([d["question"], *d["choices"], "ABCD"[d["answer"]]])
    return root


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_table5_folder(root: Path) -> Path:
    """A folder of Table 5's benchmarks (MMLU left out), each in its original release or the Hub's layout."""
    (root / "wsc273").mkdir(parents=True)
    (root / "wsc273" / "WSCollection.xml").write_text(WSC_RELEASE, encoding="utf-8")
    write_piqa_release(root / "PIQA", OFFICIAL["piqa"])
    write_piqa_release(root / "PIQA", OFFICIAL["piqa"][:2], stem="train")
    write_boolq_release(root / "boolq" / "dev.jsonl", OFFICIAL["boolq"])
    write_jsonl(
        root / "winogrande" / "dev.jsonl",
        [{"qID": f"q{k}", **d} for k, d in enumerate(OFFICIAL["winogrande"])],
    )
    (root / "logiqa").mkdir()
    (root / "logiqa" / "Test.txt").write_text(LOGIQA_RELEASE, encoding="utf-8")
    (root / "logiqa" / "Train.txt").write_text(LOGIQA_RELEASE, encoding="utf-8")
    for task in ("wnli", "qnli", "mnli"):
        write_glue_release(root / task.upper(), task, OFFICIAL[task])
    write_glue_release(root / "MNLI", "mnli", OFFICIAL["mnli"][:1]).rename(
        root / "MNLI" / "dev_mismatched.tsv"
    )
    write_glue_release(root / "MNLI", "mnli", OFFICIAL["mnli"])
    write_truthfulqa_release(root / "truthfulqa" / "mc_task.json", OFFICIAL["truthfulqa_mc2"])
    return root
