"""An estimate of what zero trust is worth to the firm, with its assumptions printed beside it
(pure; issue 7 item 6).

The figures are published ones, kept as data with their source (``PUBLISHED``):

* IBM/Ponemon, *Cost of a Data Breach Report 2024*: global average cost per breached record
  USD 173 (a customer-PII record), global average cost of a breach USD 4.88 million;
* the same report series (2021 edition): breaches at organisations with a mature zero-trust
  approach cost USD 3.28 million on average against USD 5.04 million without zero trust —
  35% less measured against the cost without, and the "~42% lower" widely quoted (the
  difference over the mean of the two). It is a correlation across surveyed breaches, not a
  promise, so the estimate carries both ends;
* an annual likelihood of such a breach, which no one publishes for a given firm: menshen
  assumes one in ten a year and says so; the firm sets its own.

The cost of one breach is bracketed by the two published anchors (records at risk × cost per
record, and the average breach), so the output is a range, low to high, never one figure.
Records at risk are the records the firm holds plus one per staff member (its own people's
data). Amounts are in US dollars unless the firm gives a conversion rate with its date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from menshen.compliance.model import Bilingual
from menshen.errors import InvalidInput
from menshen.settings_compliance import ComplianceOptions

__all__ = [
    "PUBLISHED",
    "PublishedFigures",
    "Range",
    "RoiEstimate",
    "RoiInputs",
    "estimate",
    "roi_inputs",
]

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class PublishedFigures:
    """Published figures the estimate rests on, with where they come from."""

    cost_per_record_usd: float
    average_breach_usd: float
    breach_source: str
    zero_trust_reduction_low: float
    zero_trust_reduction_high: float
    zero_trust_source: str
    default_likelihood: float


PUBLISHED = PublishedFigures(
    cost_per_record_usd=173.0,
    average_breach_usd=4_880_000.0,
    breach_source="IBM/Ponemon, Cost of a Data Breach Report 2024",
    zero_trust_reduction_low=0.35,
    zero_trust_reduction_high=0.42,
    zero_trust_source=(
        "IBM/Ponemon Cost of a Data Breach Report series (2021: USD 3.28M with mature zero"
        " trust vs USD 5.04M without)"
    ),
    default_likelihood=0.10,
)


@dataclass(frozen=True, slots=True)
class RoiInputs:
    """The firm's inputs. ``rate`` converts USD into ``currency`` (units per USD) as of
    ``rate_date``; ``annual_likelihood`` overrides menshen's assumed one in ten."""

    records_held: int = 0
    staff: int = 0
    annual_revenue: float = 0.0
    currency: str = "USD"
    rate: float | None = None
    rate_date: date | None = None
    annual_likelihood: float | None = None


@dataclass(frozen=True, slots=True)
class Range:
    """An amount known only between two ends."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class RoiEstimate:
    """The estimate, or (``enough`` false) why there is none; ``assumptions`` are printed
    beside it, always. Amounts are per year except ``breach_cost`` (one breach)."""

    enough: bool
    currency: str
    assumptions: tuple[Bilingual, ...]
    breach_cost: Range | None = None
    expected_without: Range | None = None
    expected_with: Range | None = None
    reduction: Range | None = None
    likelihood: float | None = None
    revenue_share_high: float | None = None  # expected_without.high / annual revenue


def roi_inputs(options: ComplianceOptions) -> RoiInputs | None:
    """The firm's inputs from ``tenants.<id>.compliance``, or None when it gave none (the
    report then has no ROI section). The CLI, the console and the report service use this."""
    if not (options.records_held or options.staff or options.annual_revenue):
        return None
    return RoiInputs(
        records_held=options.records_held,
        staff=options.staff,
        annual_revenue=float(options.annual_revenue),
        currency=options.currency,
    )


def estimate(inputs: RoiInputs, figures: PublishedFigures = PUBLISHED) -> RoiEstimate:
    """The expected annual breach cost without and with zero trust, as ranges."""
    _check(inputs)
    records = inputs.records_held + inputs.staff
    converted = inputs.rate is not None and inputs.currency != "USD"
    currency = inputs.currency if converted or inputs.currency == "USD" else "USD"
    factor = inputs.rate if converted and inputs.rate is not None else 1.0
    assumptions = _assumptions(inputs, figures, records, currency)
    if records == 0:
        missing = Bilingual(
            "Not enough inputs: give the records held (or the staff count) to estimate.",
            "輸入不足：請提供持有的個資筆數（或員工人數）以進行估算。",
        )
        return RoiEstimate(enough=False, currency=currency, assumptions=(missing, *assumptions))
    likelihood = (
        figures.default_likelihood if inputs.annual_likelihood is None else inputs.annual_likelihood
    )
    by_records = records * figures.cost_per_record_usd
    breach = Range(
        min(by_records, figures.average_breach_usd) * factor,
        max(by_records, figures.average_breach_usd) * factor,
    )
    without = Range(breach.low * likelihood, breach.high * likelihood)
    with_zt = Range(
        without.low * (1 - figures.zero_trust_reduction_high),
        without.high * (1 - figures.zero_trust_reduction_low),
    )
    reduction = Range(
        without.low * figures.zero_trust_reduction_low,
        without.high * figures.zero_trust_reduction_high,
    )
    revenue_share = None
    if inputs.annual_revenue > 0 and (inputs.currency == "USD" or converted):
        revenue_share = without.high / inputs.annual_revenue
    return RoiEstimate(
        enough=True,
        currency=currency,
        assumptions=assumptions,
        breach_cost=breach,
        expected_without=without,
        expected_with=with_zt,
        reduction=reduction,
        likelihood=likelihood,
        revenue_share_high=revenue_share,
    )


def _check(inputs: RoiInputs) -> None:
    if inputs.records_held < 0 or inputs.staff < 0 or inputs.annual_revenue < 0:
        raise InvalidInput("records held, staff and annual revenue must not be negative")
    if not _CURRENCY.match(inputs.currency):
        raise InvalidInput(
            f"currency must be an ISO 4217 code such as TWD, not {inputs.currency!r}"
        )
    if inputs.rate is not None:
        if inputs.rate <= 0:
            raise InvalidInput(f"the conversion rate must be positive, not {inputs.rate}")
        if inputs.rate_date is None:
            raise InvalidInput("a conversion rate needs the date it was taken on")
    likelihood = inputs.annual_likelihood
    if likelihood is not None and not 0 < likelihood <= 1:
        raise InvalidInput(f"the annual likelihood must be in (0, 1], not {likelihood}")


def _assumptions(
    inputs: RoiInputs, figures: PublishedFigures, records: int, currency: str
) -> tuple[Bilingual, ...]:
    per_record = f"USD {figures.cost_per_record_usd:,.0f}"
    average = f"USD {figures.average_breach_usd / 1e6:.2f} million"
    low = f"{figures.zero_trust_reduction_low:.2f}"
    high = f"{figures.zero_trust_reduction_high:.2f}"
    lines = [
        Bilingual(
            f"One breach costs between {records:,} records at risk × {per_record} per record"
            f" and the average breach, {average} ({figures.breach_source}).",
            f"單次外洩成本介於「風險個資 {records:,} 筆 × 每筆 {per_record}」與平均外洩成本"
            f" {average} 之間（{figures.breach_source}）。",
        ),
        Bilingual(
            f"Records at risk: {inputs.records_held:,} held plus {inputs.staff:,} staff.",
            f"風險個資筆數：持有 {inputs.records_held:,} 筆，加上員工 {inputs.staff:,} 人。",
        ),
        Bilingual(
            f"Mature zero trust lowers the cost by a fraction between {low} and {high}"
            f" ({figures.zero_trust_source}); a correlation in surveyed breaches, not a"
            " promise.",
            f"成熟的零信任可使外洩成本降低 {low} 至 {high} 的比例（{figures.zero_trust_source}）；"
            "此為受訪外洩事件中的相關性，並非保證。",
        ),
    ]
    if inputs.annual_likelihood is None:
        lines.append(
            Bilingual(
                f"Annual likelihood of such a breach: {figures.default_likelihood:.2f}, an"
                " assumption of menshen, not a published figure; set your own.",
                f"每年發生此類外洩的機率：{figures.default_likelihood:.2f}，為 menshen 的假設，"
                "並非公開數據；請依貴機構情況調整。",
            )
        )
    else:
        lines.append(
            Bilingual(
                f"Annual likelihood of such a breach: {inputs.annual_likelihood:.2f}, as set"
                " by the firm.",
                f"每年發生此類外洩的機率：{inputs.annual_likelihood:.2f}（由機構設定）。",
            )
        )
    if currency != "USD" and inputs.rate is not None and inputs.rate_date is not None:
        lines.append(
            Bilingual(
                f"Converted at {inputs.rate:g} {currency} per USD as of"
                f" {inputs.rate_date.isoformat()}.",
                f"以 {inputs.rate_date.isoformat()} 匯率每 1 美元兌 {inputs.rate:g} {currency}"
                " 換算。",
            )
        )
    elif inputs.currency != "USD":
        lines.append(
            Bilingual(
                f"No USD to {inputs.currency} rate was given: amounts are in USD.",
                f"未提供美元兌 {inputs.currency} 匯率：金額以美元表示。",
            )
        )
    return tuple(lines)
