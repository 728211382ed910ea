"""Every ApiBase in manifests/samples/ is accepted by the CRD (what the API server would say at kubectl apply)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from apibase_operator import API_VERSION, KIND
from apibase_operator.crd.schema import validate_against_crd

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[4] / "manifests" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.yaml"))


def test_there_are_samples() -> None:
    assert len(SAMPLE_FILES) >= 2


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_sample_is_valid_against_the_crd(path: Path) -> None:
    documents = [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]
    assert documents
    for document in documents:
        assert (document["apiVersion"], document["kind"]) == (API_VERSION, KIND)
        assert validate_against_crd(document) == [], document["metadata"]["name"]


def test_the_check_refuses_a_broken_sample() -> None:
    document = yaml.safe_load((SAMPLES / "apibase-minimal.yaml").read_text(encoding="utf-8"))
    document["spec"]["replicas"] = "two"
    document["spec"]["imagee"] = "typo"
    assert len(validate_against_crd(document)) == 2
