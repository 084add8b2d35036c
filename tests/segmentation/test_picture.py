"""The segmentation picture: well-formed, deterministic, escaped, and true to the analysis."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings

from menshen.inventory import (
    Asset,
    AssetKind,
    Classification,
    DataStore,
    Inventory,
    Labels,
    PortRange,
)
from menshen.segmentation import (
    FlowException,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
    blast_radius,
)
from menshen.segmentation.files import build, export_yaml, load_example, parse_text
from menshen.segmentation.picture import PictureOptions, draw
from menshen.segmentation.picture_svg import esc
from tests.segmentation.oracle import models

SVG = "{http://www.w3.org/2000/svg}"
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 1, tzinfo=UTC)
HOSTILE = "<script>alert(\"x\")</script> & 'y' ]]> <!-- -->"


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in g.get("class", "").split()]


def marked(root: ET.Element) -> dict[str, int]:
    """Asset id → hops for every asset the overlay marks."""
    found = {}
    for group in groups(root, "asset"):
        classes = group.get("class", "").split()
        if "taken" in classes or "compromised" in classes:
            found[group.get("data-asset", "")] = int(group.get("data-hops", "-1"))
    return found


def test_picture_is_well_formed_svg_without_scripts_or_outside_references() -> None:
    """The example parses as XML; no script, image, foreign object or link leaves the file."""
    seg = load_example()
    svg = draw(seg, AT, blast=blast_radius(seg, "laptop-17", AT))
    root = parsed(svg)
    assert root.tag == f"{SVG}svg"
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert not tags & {"script", "image", "foreignObject", "a", "use", "style", "iframe"}
    for element in root.iter():
        for name, value in element.attrib.items():
            assert not name.startswith("on"), name
            assert "href" not in name
            if "url(" in value:
                assert value.startswith("url(#menshen-"), value
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_same_model_gives_byte_identical_svg() -> None:
    """Drawn twice, and from a model read back from its own export: the same bytes."""
    seg = load_example()
    again = build(parse_text(export_yaml(seg.inventory, seg.policy, "x"), "x.yaml"))
    first = draw(seg, AT, blast=blast_radius(seg, "laptop-17", AT))
    assert first == draw(seg, AT, blast=blast_radius(seg, "laptop-17", AT))
    assert first == draw(again, AT, blast=blast_radius(again, "laptop-17", AT))
    assert draw(seg, AT) == draw(again, AT)


def test_overlay_marks_exactly_the_blast_radius_of_every_asset() -> None:
    """For each asset of the example, the marked assets, hops and stores are the analysis'."""
    seg = load_example()
    for asset in seg.inventory.assets:
        blast = blast_radius(seg, asset.id, AT)
        root = parsed(draw(seg, AT, blast=blast))
        assert marked(root) == {item.asset: item.hops for item in blast.assets}
        exposed = {g.get("data-store") for g in groups(root, "exposed")}
        assert exposed == set(blast.store_ids())
        compromised = [g.get("data-asset") for g in groups(root, "compromised")]
        assert compromised == [asset.id]


def test_contractor_laptop_overlay_leaves_the_settlement_database_unmarked() -> None:
    """laptop-17 reaches the wiki and the merchant DB (monitor mode), not the ledger."""
    seg = load_example()
    root = parsed(draw(seg, AT, blast=blast_radius(seg, "laptop-17", AT)))
    assert "settlement-db" not in marked(root)
    assert marked(root)["merchant-db"] == 1
    exposed = {g.get("data-store") for g in groups(root, "exposed")}
    assert "settlement-ledger" not in exposed
    assert "merchant-kyc" in exposed


def test_attack_paths_are_drawn_hop_by_hop() -> None:
    """Every hop of every shortest path is one arrow, labelled with the grant it uses."""
    seg = load_example()
    blast = blast_radius(seg, "laptop-17", AT)
    root = parsed(draw(seg, AT, blast=blast))
    drawn = {
        (g.get("data-from"), g.get("data-to"), g.get("data-rules")) for g in groups(root, "hop")
    }
    expected = {
        (f"asset:{hop.source}", f"asset:{hop.destination}", str(hop.grant))
        for item in blast.assets
        for hop in item.path
    }
    assert drawn == expected
    assert ("asset:contractor-gateway", "asset:wiki", "ACC-005") in drawn


def test_without_overlay_nothing_is_marked_or_dimmed() -> None:
    """The plain picture marks no asset and draws no attack path."""
    root = parsed(draw(load_example(), AT))
    assert marked(root) == {}
    assert groups(root, "hop") == []
    assert all(g.get("opacity") is None for g in groups(root, "flow"))


def test_restricted_stores_are_highlighted_and_their_zone_flagged() -> None:
    """Restricted stores carry the class and a heavier red outline; the zone has a badge."""
    seg = load_example()
    root = parsed(draw(seg, AT))
    restricted = {g.get("data-store") for g in groups(root, "restricted")}
    assert restricted == {"settlement-ledger", "card-vault"}
    zone = next(g for g in groups(root, "zone") if g.get("data-zone") == "settlement-db")
    texts = [t.text for t in zone.iter(f"{SVG}text")]
    assert "restricted data" in texts
    store = next(g for g in groups(root, "store") if g.get("data-store") == "card-vault")
    rect = store.find(f"{SVG}rect")
    assert rect is not None
    assert rect.get("stroke") == "#b91c1c"


def test_flows_are_labelled_with_ports_and_rules_and_aggregated() -> None:
    """Two rules between the same zones are one arrow naming both, with all their ports."""
    seg = _tiny(
        rules=(
            Rule("R-1", ("web",), ("db",), (PortRange.parse("tcp/5432"),)),
            Rule("R-2", ("web",), ("db",), (PortRange.parse("tcp/9100"),)),
        )
    )
    root = parsed(draw(seg, AT))
    flows = groups(root, "flow")
    assert [(g.get("data-from"), g.get("data-to"), g.get("data-rules")) for g in flows] == [
        ("zone:web", "zone:db", "R-1 R-2")
    ]
    labels = [t.text for t in flows[0].iter(f"{SVG}text")]
    assert labels == ["tcp/5432, tcp/9100", "R-1, R-2"]


def test_expired_exception_is_not_drawn() -> None:
    """An exception is a dashed arrow until it expires, and gone after."""
    exception = FlowException(
        "EXC-1", ("web",), ("db",), (PortRange.parse("tcp/22"),), "cto", LATER
    )
    seg = _tiny(exceptions=(exception,))
    before = groups(parsed(draw(seg, AT)), "exception")
    assert [g.get("data-rules") for g in before] == ["EXC-1"]
    path = before[0].find(f"{SVG}path")
    assert path is not None
    assert path.get("stroke-dasharray") == "5 3"
    assert groups(parsed(draw(seg, LATER)), "exception") == []


def test_untrusted_text_is_escaped() -> None:
    """Names, owners, descriptions and store names with markup stay text."""
    seg = _tiny(hostile=True)
    svg = draw(seg, AT, blast=blast_radius(seg, "web-1", AT))
    assert "<script" not in svg
    assert "<!--" not in svg
    root = parsed(svg)
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any(HOSTILE in title for title in titles)
    assert not [e for e in root.iter() if e.tag.endswith("script")]


def test_escaping_replaces_characters_xml_forbids() -> None:
    """Quotes and markup are entities; characters outside XML 1.0 become U+FFFD."""
    assert esc("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#x27;"
    assert esc("x\x00y\ufffez") == "x\ufffdy\ufffdz"
    parsed(f'<t a="{esc(HOSTILE)}">{esc(HOSTILE + chr(1))}</t>')


def test_large_model_collapses_to_zones() -> None:
    """Past max_assets only zone cards are drawn, with counts and the overlay per zone."""
    seg = load_example()
    blast = blast_radius(seg, "laptop-17", AT)
    root = parsed(draw(seg, AT, blast=blast, options=PictureOptions(max_assets=5)))
    assert groups(root, "asset") == []
    zones = {g.get("data-zone"): g for g in groups(root, "zone")}
    assert len(zones) == len(seg.policy.zones) + 1  # and the card of assets in no zone
    assert zones["contractor-laptops"].get("class") == "zone compromised"
    hit = {name for name, g in zones.items() if "taken" in (g.get("class") or "")}
    assert hit == {"contractor-gateway", "wiki", "merchant-db"}
    assert "settlement-db" not in hit


def test_many_zones_keep_the_largest_and_say_so() -> None:
    """Past max_zones the largest zones are drawn and the header counts the rest."""
    seg = load_example()
    svg = draw(seg, AT, options=PictureOptions(max_zones=3))
    root = parsed(svg)
    assert len(groups(root, "zone")) == 3
    assert "12 smaller zones not drawn" in svg


def test_synthetic_firm_of_two_hundred_assets_stays_small() -> None:
    """200 assets in 10 zones: zones only, a bounded drawing."""
    assets = [
        Asset(
            f"h{i:03d}",
            AssetKind.HOST,
            labels=Labels({"role": f"r{i % 10}"}),
            networks=(ipaddress.ip_network(f"10.1.{i // 250}.{i % 250 + 1}/32"),),
        )
        for i in range(200)
    ]
    zones = tuple(Zone(f"z{k}", Selector.of({"role": (f"r{k}",)})) for k in range(10))
    rules = tuple(
        Rule(f"R{k}", (f"z{k}",), (f"z{(k + 1) % 10}",), (PortRange.parse("tcp/443"),))
        for k in range(10)
    )
    seg = Segmentation(
        Inventory(tuple(assets)), SegmentationPolicy((), zones, (RuleSet("all", rules=rules),))
    )
    svg = draw(seg, AT, blast=blast_radius(seg, "h000", AT))
    root = parsed(svg)
    assert groups(root, "asset") == []
    assert len(groups(root, "zone")) == 10
    assert len(svg) < 60_000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_random_models_draw_well_formed_and_mark_the_blast_radius(seg: Segmentation) -> None:
    """Any valid model draws; the overlay of its first asset marks exactly its blast radius."""
    root = parsed(draw(seg, AT))
    assert len(groups(root, "asset")) == len(seg.inventory.assets)
    if seg.inventory.assets:
        first = seg.inventory.assets[0].id
        blast = blast_radius(seg, first, AT)
        root = parsed(draw(seg, AT, blast=blast))
        assert marked(root) == {item.asset: item.hops for item in blast.assets}


def _tiny(
    rules: tuple[Rule, ...] = (),
    exceptions: tuple[FlowException, ...] = (),
    hostile: bool = False,
) -> Segmentation:
    text = HOSTILE if hostile else ""
    web = Asset(
        "web-1",
        AssetKind.HOST,
        name=text,
        owner=text,
        labels=Labels({"role": "web"}),
        networks=(ipaddress.ip_network("10.0.0.1/32"),),
    )
    db = Asset(
        "db-1",
        AssetKind.DATABASE,
        labels=Labels({"role": "db"}),
        networks=(ipaddress.ip_network("10.0.0.2/32"),),
    )
    store = DataStore("ledger", "db-1", Classification.RESTRICTED, name=text, records=12)
    zones = (
        Zone("web", Selector.of({"role": ("web",)}), description=text),
        Zone("db", Selector.of({"role": ("db",)})),
    )
    if not rules and not exceptions:
        rules = (Rule("R-1", ("web",), ("db",), (PortRange.parse("tcp/5432"),)),)
    policy = SegmentationPolicy((), zones, (RuleSet("main", rules=rules, exceptions=exceptions),))
    return Segmentation(Inventory((web, db), (store,)), policy)
