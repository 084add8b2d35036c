"""`menshen segment compile` and `check-nft`, and byte-identical output for the same input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.inventory import Inventory
from menshen.segmentation import Segmentation, SegmentationPolicy
from menshen.segmentation.compile import FORMATS
from tests.segmentation.cli_world import AT, menshen, write_example
from tests.segmentation.oracle import TIMES, models
from tests.segmentation.test_compile_nftables import nft_check


@pytest.fixture
def firm(tmp_path: Path) -> Path:
    return write_example(tmp_path)


@pytest.mark.parametrize("fmt", ["nftables", "kubernetes", "aws"])
def test_compile_from_files_is_deterministic(tmp_path: Path, firm: Path, fmt: str) -> None:
    """Two runs with the same files and --at write byte-identical output."""
    outs = []
    for name in ("one", "two"):
        out = tmp_path / f"{name}.{fmt}"
        code, text = menshen(tmp_path / "data", "segment", "compile", "--format", fmt,
                             "-f", str(firm), "--at", AT, "--out", str(out))  # fmt: skip
        assert code == 0, text
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert b"SET-001" in outs[0]


def test_compile_prints_to_standard_output(tmp_path: Path, firm: Path) -> None:
    """Without --out the manifests go to standard output, parseable as YAML and JSON."""
    code, text = menshen(tmp_path, "segment", "compile", "--format", "kubernetes", "-f", str(firm),
                         "--at", AT, "--namespace", "payments", "--no-dns")  # fmt: skip
    assert code == 0, text
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    assert {doc["metadata"]["namespace"] for doc in documents} == {"payments"}
    assert "menshen-allow-dns" not in text
    code, text = menshen(tmp_path, "segment", "compile", "--format", "aws", "-f", str(firm),
                         "--at", AT, "--group-id", "menshen-wiki=sg-0abc")  # fmt: skip
    assert code == 0, text
    assert "sg-0abc" in text
    assert json.loads(text)["SecurityGroups"]


def test_compile_from_the_store(tmp_path: Path, firm: Path) -> None:
    """With no -f the stored model is compiled."""
    data = tmp_path / "data"
    assert menshen(data, "inventory", "import", str(firm))[0] == 0
    code, text = menshen(data, "segment", "compile", "--format", "nftables", "--at", AT)
    assert code == 0, text
    assert 'comment "ACC-002"' in text


def test_compile_check_and_check_nft(tmp_path: Path, firm: Path) -> None:
    """--check runs nft -c on the result; check-nft refuses a broken file with status 1."""
    nft_check("table inet probe {\n}\n", tmp_path)  # skips without nft or root
    out = tmp_path / "rules.nft"
    code, text = menshen(tmp_path, "segment", "compile", "--format", "nftables", "-f", str(firm),
                         "--at", AT, "--out", str(out), "--check")  # fmt: skip
    assert code == 0, text
    code, text = menshen(tmp_path, "segment", "check-nft", str(out))
    assert code == 0
    assert "nft accepts it" in text
    broken = tmp_path / "broken.nft"
    broken.write_text(out.read_text().replace("policy drop;", "policy dorp;"))
    code, text = menshen(tmp_path, "segment", "check-nft", str(broken))
    assert code == 1


def test_bad_options_are_refused(tmp_path: Path, firm: Path) -> None:
    """--check with another format, a malformed --group-id, a bad namespace: status 2."""
    base = ["segment", "compile", "-f", str(firm), "--at", AT]
    assert menshen(tmp_path, *base, "--format", "aws", "--check")[0] == 2
    assert menshen(tmp_path, *base, "--format", "aws", "--group-id", "nogood")[0] == 2
    assert menshen(tmp_path, *base, "--format", "kubernetes", "--namespace", "Bad_NS")[0] == 2
    assert menshen(tmp_path, *base, "--format", "yaml")[0] == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seg=models(), data=st.data())
def test_same_model_in_any_order_compiles_to_the_same_bytes(
    seg: Segmentation, data: st.DataObject
) -> None:
    """Assets, zones, label groups and rule sets given in another order: identical output."""
    inventory, policy = seg.inventory, seg.policy
    shuffled = Segmentation(
        Inventory(
            tuple(data.draw(st.permutations(inventory.assets))),
            tuple(data.draw(st.permutations(inventory.data_stores))),
            tuple(data.draw(st.permutations(inventory.flows))),
        ),
        SegmentationPolicy(
            tuple(data.draw(st.permutations(policy.label_groups))),
            tuple(data.draw(st.permutations(policy.zones))),
            tuple(data.draw(st.permutations(policy.rule_sets))),
        ),
    )
    at = data.draw(st.sampled_from(TIMES))
    for compile_format in FORMATS.values():
        first = compile_format(seg, at)
        assert compile_format(shuffled, at) == first
        assert compile_format(seg, at) == first
