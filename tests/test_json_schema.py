"""`bptt-check verify --json` writes documents that the shipped JSON Schema accepts, and the
schema rejects broken ones (bptt_check/schema/verify.schema.json, draft 2020-12)."""

import copy
import io
import json
import sys
from importlib.resources import files

import jsonschema
import pytest

from bptt_check.cli import main

SCHEMA = json.loads(files("bptt_check").joinpath("schema/verify.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def document():
    """verify --json - on three fast claims: a holds (eq1), a fails (eq5), a holds-if (eq7)."""
    capture = pytest.MonkeyPatch()  # capsys is per test; the document is made once
    out, err = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", out)
    capture.setattr(sys, "stderr", err)
    try:
        status = main(["verify", "--claims", "eq1,eq5,eq7", "--json", "-"])
    finally:
        capture.undo()
    assert status == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"]["const"] == 2


def test_verify_json_is_valid(document):
    errors = [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert errors == []
    assert [c["verdict"] for c in document["claims"]] == ["holds", "fails", "holds-if"]


def _claim(document, verdict):
    return next(c for c in document["claims"] if c["verdict"] == verdict)


def _drop(key):
    def edit(doc):
        del _claim(doc, "holds-if")[key]

    return edit


def _set(verdict, key, value):
    def edit(doc):
        _claim(doc, verdict)[key] = value

    return edit


def _holds_with_counterexample(doc):
    _claim(doc, "holds")["counterexample"] = {}


def _fails_without_counterexample(doc):
    claim = _claim(doc, "fails")
    del claim["counterexample"], claim["counterexample_items"]


def _holds_with_condition(doc):
    _claim(doc, "holds")["condition"] = "n = 1"


def _proof_sizes_not_integers(doc):
    proofs = next(i for i in _claim(doc, "holds")["evidence_items"] if i["kind"] == "proofs")
    proofs["proofs"][0]["sizes"] = {"n": "two"}


def _unknown_key_in_an_item(doc):
    _claim(doc, "holds")["evidence_items"][0]["colour"] = "red"


def _unknown_kind(doc):
    _claim(doc, "holds")["evidence_items"][0]["kind"] = "picture"


def _mpmath_not_a_string(doc):
    example = _claim(doc, "fails")["counterexample_items"][0]
    quantity = next(q for q in example["quantities"] if "mpmath" in q)
    quantity["mpmath"] = 0.1


def _schema_1(doc):
    doc["schema"] = 1


BROKEN = {
    "a claim without its reason": _drop("reason"),
    "a holds-if without its condition": _drop("condition"),
    "an unknown verdict": _set("holds", "verdict", "maybe"),
    "a finding that is not a kind of finding": _set("fails", "finding", "typo"),
    "a fails verdict called a definition": _set("fails", "finding", "definition"),
    "a holds verdict with a counterexample": _holds_with_counterexample,
    "a holds verdict with a condition": _holds_with_condition,
    "a fails verdict without a counterexample": _fails_without_counterexample,
    "proof sizes that are not integers": _proof_sizes_not_integers,
    "an unknown key in an evidence item": _unknown_key_in_an_item,
    "an unknown kind of item": _unknown_kind,
    "an mpmath confirmation that is not a string": _mpmath_not_a_string,
    "a document of schema 1": _schema_1,
}


@pytest.mark.parametrize("edit", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_document_is_rejected(document, edit):
    broken = copy.deepcopy(document)
    edit(broken)
    assert not VALIDATOR.is_valid(broken)
