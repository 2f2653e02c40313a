"""Store timers (DraftStore.set_timer … next_timer), the contract every store keeps (memory, SQLite,
Redis through `open_store`): due keys are claimed once, earliest first, until their lease ends;
a wake moves the unclaimed timers of a tag; timers outlive the store object (a restart)."""
from __future__ import annotations

import threading

T0 = 1_000_000.0


def test_no_timer_means_nothing_is_due(open_store):
    store = open_store()
    assert store.next_timer() is None
    assert store.claim_timers(T0, T0 + 60, 10) == []


def test_due_timers_are_claimed_earliest_first_and_moved_to_the_lease(open_store):
    store = open_store()
    store.set_timer("job:b", T0 + 2)
    store.set_timer("job:a", T0 + 1)
    store.set_timer("job:later", T0 + 100)
    assert store.next_timer() == T0 + 1
    assert store.claim_timers(T0 + 5, T0 + 60, 10) == ["job:a", "job:b"]
    assert store.claim_timers(T0 + 5, T0 + 60, 10) == []          # claimed: not handed out twice
    assert store.next_timer() == T0 + 60
    assert store.claim_timers(T0 + 61, T0 + 120, 1) == ["job:a"]  # the lease ended: due again, `limit` kept


def test_setting_a_timer_again_moves_it_and_ends_its_claim(open_store):
    store = open_store()
    store.set_timer("job:a", T0)
    assert store.claim_timers(T0, T0 + 60, 10) == ["job:a"]
    store.set_timer("job:a", T0 + 3, tag="run-1")
    assert store.claim_timers(T0 + 2, T0 + 60, 10) == []
    assert store.claim_timers(T0 + 3, T0 + 60, 10) == ["job:a"]


def test_cleared_timers_are_gone(open_store):
    store = open_store()
    store.set_timer("job:a", T0, tag="run-1")
    store.clear_timer("job:a")
    store.clear_timer("job:never-set")
    assert store.next_timer() is None
    store.wake_timers("run-1", T0)
    assert store.claim_timers(T0 + 1000, T0 + 2000, 10) == []


def test_a_wake_makes_the_unclaimed_timers_of_its_tag_due(open_store):
    store = open_store()
    store.set_timer("job:waiting", T0 + 600, tag="run-1")
    store.set_timer("job:other-run", T0 + 600, tag="run-2")
    store.set_timer("job:claimed", T0, tag="run-1")
    assert store.claim_timers(T0, T0 + 60, 10) == ["job:claimed"]
    store.set_timer("job:sooner", T0 + 1, tag="run-1")
    store.wake_timers("run-1", T0 + 5)
    store.wake_timers("", T0 + 5)                                   # no tag: wakes nothing
    # the waiting one is due now; the claimed one keeps its lease, the sooner one its own time
    assert store.claim_timers(T0 + 5, T0 + 60, 10) == ["job:sooner", "job:waiting"]
    assert store.next_timer() == T0 + 60


def test_a_timer_moved_to_another_tag_is_woken_by_that_tag_only(open_store):
    store = open_store()
    store.set_timer("job:a", T0 + 600, tag="run-1")
    store.set_timer("job:a", T0 + 600, tag="run-2")
    store.wake_timers("run-1", T0)
    assert store.claim_timers(T0, T0 + 60, 10) == []
    store.wake_timers("run-2", T0)
    assert store.claim_timers(T0, T0 + 60, 10) == ["job:a"]


def test_timers_survive_a_restart(open_store):
    open_store().set_timer("job:a", T0, tag="run-1")
    again = open_store()
    assert again.next_timer() == T0
    assert again.claim_timers(T0, T0 + 60, 10) == ["job:a"]


def test_concurrent_claims_hand_each_timer_to_one_caller(open_store):
    keys = [f"job:{i:03}" for i in range(60)]
    first = open_store()
    for key in keys:
        first.set_timer(key, T0)
    stores = [first, *(open_store() for _ in range(3))]
    got: list[list[str]] = [[] for _ in stores]

    def claim(n: int) -> None:
        while batch := stores[n].claim_timers(T0, T0 + 60, 7):
            got[n].extend(batch)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [key for batch in got for key in batch]
    assert sorted(claimed) == keys                                  # every key once, none twice
