"""What a retry of a community write must repeat is the same list whichever way the service is handed its
arguments: the records (NewAsset, Deal, NewPost) replaced argument lists, and a key stored
before that is answered after it only while the request lists the same values in the same order."""

from datetime import date
from typing import cast

from ledger.access.auth import Principal
from ledger.community import brokerage, services, welfare
from ledger.community.assets import NewAsset
from ledger.community.leases.schedule import LeaseTerms

ACTOR = cast(Principal, object())  # building a Write reads nothing of the actor; running it would


def test_asset_request_lists_the_register_fields_in_their_old_order() -> None:
    write = services.add_asset(ACTOR, 7, NewAsset(kind="门面", name="临街门面2号", area_milli_m2=42_500))
    assert write.request == {
        "asset.create": [7, "门面", "临街门面2号", "", 42_500, "collective", "", 0, "idle", "", ""]
    }


def test_deal_request_lists_the_deal_in_its_old_order() -> None:
    deal = brokerage.Deal(
        client="某房产中介", kind="house_lease", earned_on=date(2025, 4, 2), commission_fen=900
    )
    write = services.record_deal(ACTOR, 7, deal, idempotency_key="k1")
    assert write.request == {
        "brokerage.deal": [
            7,
            "某房产中介",
            "house_lease",
            "2025-04-02",
            0,
            None,
            900,
            100,
            "",
            False,
            "102",
            "",
        ]
    }


def test_post_request_lists_the_post_in_its_old_order() -> None:
    post = welfare.NewPost(post="保洁员", holder="王五", monthly_stipend_fen=80_000, start=date(2025, 1, 1))
    write = services.add_post(ACTOR, 7, post)
    assert write.request == {"welfare.post": [7, "保洁员", "王五", 80_000, "2025-01-01", None]}


def test_contract_request_lists_the_contract_in_its_old_order() -> None:
    terms = LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), 50_000)
    write = services.add_contract(
        ACTOR, 7, code="HT-9", mode="lease", terms=terms, lessee="李四", asset_ids=(3, 4), deposit_fen=100
    )
    request = write.request["lease.create"]
    assert request[:3] == [7, "HT-9", "lease"]
    assert request[3]["rent_per_cycle_fen"] == 50_000  # the terms as a record, as before
    assert request[4:] == [None, "李四", [3, 4], 100, ""]
